//! [`LinkStats`]: counters of one link.

/// Counters of one link. Every dropped or malformed thing is counted here, never silent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkStats {
    /// Bytes read from the transport.
    pub wire_bytes_in: u64,
    /// Bytes handed to the transport by `poll_transmit`.
    pub wire_bytes_out: u64,
    /// Data messages received (subscriptions in the 3.0 form not included).
    pub messages_in: u64,
    /// Payload bytes of the data messages received.
    pub payload_bytes_in: u64,
    /// Data messages serialized for the transport (data and control queues).
    pub messages_out: u64,
    /// Payload bytes of those messages.
    pub payload_bytes_out: u64,
    /// Subscription changes received, in either form.
    pub subscriptions_in: u64,
    /// Subscription changes sent.
    pub subscriptions_out: u64,
    /// Commands received (READY included).
    pub commands_in: u64,
    /// Commands sent (READY, ERROR, PING, PONG, SUBSCRIBE, CANCEL, others).
    pub commands_out: u64,
    /// Data messages dropped at the high-water mark.
    pub dropped_hwm: u64,
    /// Queued messages and control items discarded because the link closed.
    pub dropped_on_close: u64,
    /// Control items dropped: automatic PONGs beyond the control bound, and commands queued
    /// before the handshake for a peer that turned out to speak ZMTP 3.0.
    pub dropped_control: u64,
    /// Command frames that did not decode (e.g. a PING without TTL), dropped.
    pub malformed_commands: u64,
    /// Commands with an unknown name, ignored.
    pub unknown_commands: u64,
    /// Known commands ignored: a second READY, a PING from a 3.0 peer (never answered).
    pub ignored_commands: u64,
    /// Frames with reserved flag bits set (tolerated).
    pub reserved_flag_frames: u64,
    /// Command frames with MORE set (tolerated).
    pub command_with_more: u64,
    /// PINGs sent.
    pub pings_sent: u64,
    /// PONGs sent.
    pub pongs_sent: u64,
    /// PINGs received.
    pub pings_received: u64,
    /// PONGs received.
    pub pongs_received: u64,
}
