//! Bounds on everything a peer can make us hold. A hostile peer costs bounded memory and CPU.

/// Size and count limits shared by the codecs and state machines.
///
/// Defaults are safe for a LAN cluster carrying messages up to 8 MiB.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest single ZMTP frame body accepted (bytes).
    pub max_frame_size: u64,
    /// Largest multipart message accepted, all frames together (bytes). At least 4 MiB.
    pub max_message_size: u64,
    /// Most frames in one multipart message. QUERY_RESP carries one topic per frame, so this is at
    /// least `max_topics_per_query_resp + 2`; memory stays bounded by `max_message_size`.
    pub max_frames_per_message: usize,
    /// Largest ZMTP command body accepted (READY, SUBSCRIBE, PING, ...).
    pub max_command_size: usize,
    /// Longest topic name (bytes of UTF-8).
    pub max_topic_len: usize,
    /// Most topics in one QUERY_RESP (or directory answer).
    pub max_topics_per_query_resp: usize,
    /// Most members in one MEMBER_LIST_RESP page (SPOT extension).
    pub max_members_per_resp: usize,
    /// Most member updates decoded from one SWIM datagram.
    pub max_updates_per_datagram: usize,
    /// Largest SWIM datagram sent or accepted (bytes); 1400 avoids IP fragmentation.
    pub max_datagram_size: usize,
    /// Longest member id (bytes).
    pub max_member_id_len: usize,
    /// Largest encoded tag set of one member (bytes).
    pub max_tags_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_size: 8 << 20,
            max_message_size: 8 << 20,
            max_frames_per_message: 100_002,
            max_command_size: 64 << 10,
            max_topic_len: 1024,
            max_topics_per_query_resp: 100_000,
            max_members_per_resp: 10_000,
            max_updates_per_datagram: 64,
            max_datagram_size: 1400,
            max_member_id_len: 255,
            max_tags_size: 512,
        }
    }
}

impl Limits {
    /// The default limits.
    pub fn new() -> Self {
        Self::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_meet_the_brief() {
        let l = Limits::default();
        assert!(l.max_message_size >= 4 << 20);
        assert!(l.max_frame_size >= l.max_message_size.min(4 << 20));
        assert!(l.max_datagram_size <= 1400);
        // A full QUERY_RESP ([code][count][topic] x N) must fit in one message.
        assert!(l.max_frames_per_message >= l.max_topics_per_query_resp + 2);
    }
}
