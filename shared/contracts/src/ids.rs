//! The ids of the directory's records as their own types: a contact id cannot be passed where an
//! identity or a merge is meant. Each is a UUID on the wire (serde-transparent), in the OpenAPI
//! document (`string`, format `uuid`) and in PostgreSQL (`uuid`, `uuid[]`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new random id (deliberately not `Default`: a defaulted struct must not get a
            /// fresh id silently).
            pub fn random() -> Self {
                Self(Uuid::new_v4())
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::from_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// A contact card.
    ContactId
);
uuid_id!(
    /// One identifier held by a contact card.
    IdentityId
);
uuid_id!(
    /// A merge of two contact cards (reversible while open).
    MergeId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_a_plain_uuid_on_the_wire() {
        let id = ContactId(Uuid::from_u128(7));
        let json = serde_json::to_value(id).expect("serialises");
        assert_eq!(json, serde_json::json!("00000000-0000-0000-0000-000000000007"));
        assert_eq!(serde_json::from_value::<ContactId>(json).expect("deserialises"), id);
        assert_eq!(id.to_string().parse::<ContactId>().expect("parses"), id);
    }
}
