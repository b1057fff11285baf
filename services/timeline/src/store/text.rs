//! Closed sets (`Channel`, `Direction`, `ContactChangeKind`, …) stored as `text` columns: the one
//! place where an enum becomes text and back. The spelling is the enum's serde name, the same as
//! on the wire, so a column reads like the events it came from; a stored value no variant
//! names is a decode error naming the type and the value, never a silent default.

use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::{Decode, Encode, Postgres, Type};

/// `T` bound or read as its serde name in a `text` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text<T>(pub T);

/// The serde name of a unit variant (`Channel::Whatsapp` → `whatsapp`).
pub fn name<T: Serialize>(value: &T) -> Result<String, BoxDynError> {
    match serde_json::to_value(value)? {
        serde_json::Value::String(name) => Ok(name),
        other => Err(format!("{} is stored as text but serializes to {other}", std::any::type_name::<T>()).into()),
    }
}

/// The variant named `name`.
pub fn parse<T: DeserializeOwned>(name: &str) -> Result<T, BoxDynError> {
    serde_json::from_value(serde_json::Value::String(name.to_owned()))
        .map_err(|_| format!("`{name}` is not a {}", std::any::type_name::<T>()).into())
}

impl<T> Type<Postgres> for Text<T> {
    fn type_info() -> PgTypeInfo {
        <String as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <String as Type<Postgres>>::compatible(ty)
    }
}

impl<T: Serialize> Encode<'_, Postgres> for Text<T> {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <String as Encode<Postgres>>::encode(name(&self.0)?, buf)
    }
}

impl<'r, T: DeserializeOwned> Decode<'r, Postgres> for Text<T> {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        parse(<&str as Decode<Postgres>>::decode(value)?).map(Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::{Channel, ContactChangeKind, Direction};

    #[test]
    fn every_variant_round_trips_through_its_wire_name_and_strangers_are_errors() {
        for channel in
            [Channel::Messenger, Channel::Whatsapp, Channel::Vk, Channel::Apple, Channel::Email, Channel::Voip, Channel::Webchat]
        {
            let stored = name(&channel).expect("a unit variant");
            assert_eq!(stored, channel.as_str());
            assert_eq!(parse::<Channel>(&stored).expect("reads back"), channel);
        }
        assert_eq!(name(&ContactChangeKind::IdentifierAdded).expect("named"), "identifier_added");
        assert_eq!(parse::<Direction>("outbound").expect("named"), Direction::Outbound);
        let error = parse::<Channel>("fax").expect_err("no such channel").to_string();
        assert!(error.contains("`fax`") && error.contains("Channel"), "{error}");
    }
}
