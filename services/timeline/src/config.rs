//! Timeline settings (`[service]` standalone, `[service.timeline]` in `contactd`).

use contracts::Channel;
use runtime::settings::HttpSettings;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The Timeline API.
    pub http: HttpSettings,
    /// Messages of one conversation (same tenant, contact, channel and `conversation_ref`) less
    /// than this many seconds apart form one timeline interaction with a transcript; a message
    /// after a longer silence opens a new one. `0` turns grouping off.
    pub conversation_idle_gap_secs: u64,
    /// Channels whose messages are grouped into conversations. Calls are left out by default:
    /// a call is one interaction updated through its states.
    pub grouped_channels: Vec<Channel>,
    /// Most messages one timeline interaction groups; the next message of a busy conversation
    /// opens a new interaction, so a group's transcript (rebuilt on every new message) stays
    /// bounded (each message is at most `contracts::limits::TEXT_BYTES`).
    pub max_messages_per_interaction: u32,
    /// What an `erased` contact change does to the contact's history.
    pub erasure_mode: ErasureMode,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http: HttpSettings::default(),
            conversation_idle_gap_secs: 30 * 60,
            max_messages_per_interaction: 200,
            grouped_channels: vec![
                Channel::Messenger,
                Channel::Whatsapp,
                Channel::Vk,
                Channel::Apple,
                Channel::Email,
                Channel::Webchat,
            ],
            erasure_mode: ErasureMode::Redact,
        }
    }
}

/// How a contact's history is erased (GDPR) when `contacts.changes` says `erased`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ErasureMode {
    /// Keep the entries (channel, direction, times, call status and duration, change kinds) and
    /// remove every personal content: texts, subjects, transcripts, attachments, parameters,
    /// identities, the matched identifier and the search index.
    #[default]
    Redact,
    /// Delete the contact's whole history.
    Delete,
}
