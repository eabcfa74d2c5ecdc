//! Subscriptions in both ZMTP forms.
//!
//! * ZMTP 3.1: the SUBSCRIBE and CANCEL commands, whose data is the topic prefix.
//! * ZMTP 3.0: a one-frame data message whose first byte is `0x01` (subscribe) or `0x00`
//!   (cancel), followed by the prefix.
//!
//! The sender picks the form from the version the **receiver** announced
//! ([`SubscriptionForm::for_peer`]); a receiver accepts both forms from anyone.

use bytes::{BufMut, Bytes};

use super::Command;
use super::command::{self, CANCEL, SUBSCRIBE};
use super::frame::FrameHeader;
use super::greeting::ZmtpVersion;
use super::message::Message;

/// First byte of a ZMTP 3.0 subscribe data message.
pub const DATA_SUBSCRIBE: u8 = 0x01;
/// First byte of a ZMTP 3.0 cancel data message.
pub const DATA_CANCEL: u8 = 0x00;

/// Which encoding a subscription uses (or arrived in).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SubscriptionForm {
    /// The ZMTP 3.1 SUBSCRIBE / CANCEL command.
    Command,
    /// The ZMTP 3.0 one-frame data message `[0x01|0x00][prefix]`.
    DataFrame,
}

impl SubscriptionForm {
    /// The form to send to a peer that announced `peer`: commands for 3.1, data frames for 3.0.
    pub fn for_peer(peer: ZmtpVersion) -> Self {
        if peer.accepts_commands() {
            SubscriptionForm::Command
        } else {
            SubscriptionForm::DataFrame
        }
    }
}

/// A subscription change: subscribe to or cancel a topic prefix.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Subscription {
    /// Start receiving topics that start with the prefix (empty: everything).
    Subscribe(Bytes),
    /// Stop receiving them.
    Cancel(Bytes),
}

impl Subscription {
    /// The topic prefix.
    pub fn prefix(&self) -> &Bytes {
        match self {
            Subscription::Subscribe(p) | Subscription::Cancel(p) => p,
        }
    }

    /// Whether this is a subscribe (rather than a cancel).
    pub fn is_subscribe(&self) -> bool {
        matches!(self, Subscription::Subscribe(_))
    }

    /// Reads the ZMTP 3.0 form: `Some` if `msg` has exactly one frame starting with 0x01 or
    /// 0x00 (the prefix is a zero-copy slice). Any other message is not a subscription (an
    /// XSUB may send other "user" messages, which go to the application as is).
    pub fn from_data_message(msg: &Message) -> Option<Subscription> {
        let [frame] = msg.frames() else {
            return None;
        };
        match frame.first() {
            Some(&DATA_SUBSCRIBE) => Some(Subscription::Subscribe(frame.slice(1..))),
            Some(&DATA_CANCEL) => Some(Subscription::Cancel(frame.slice(1..))),
            _ => None,
        }
    }

    /// Reads the ZMTP 3.1 form from a decoded command.
    pub fn from_command(command: &Command) -> Option<Subscription> {
        match command {
            Command::Subscribe(p) => Some(Subscription::Subscribe(p.clone())),
            Command::Cancel(p) => Some(Subscription::Cancel(p.clone())),
            _ => None,
        }
    }

    /// The equivalent command (3.1 form).
    pub fn to_command(&self) -> Command {
        match self {
            Subscription::Subscribe(p) => Command::Subscribe(p.clone()),
            Subscription::Cancel(p) => Command::Cancel(p.clone()),
        }
    }

    /// Bytes of the encoded frame in `form`.
    pub fn encoded_len(&self, form: SubscriptionForm) -> usize {
        let prefix = self.prefix().len();
        match form {
            SubscriptionForm::Command => command::frame_len(self.command_name().len(), prefix),
            SubscriptionForm::DataFrame => FrameHeader::encoded_len_for(1 + prefix) + 1 + prefix,
        }
    }

    /// Writes the single frame carrying this change in `form`.
    pub fn encode(&self, form: SubscriptionForm, dst: &mut impl BufMut) {
        let prefix = self.prefix();
        match form {
            SubscriptionForm::Command => {
                command::put_header(self.command_name(), prefix.len(), dst);
            }
            SubscriptionForm::DataFrame => {
                FrameHeader::data(1 + prefix.len(), false).encode(dst);
                dst.put_u8(if self.is_subscribe() { DATA_SUBSCRIBE } else { DATA_CANCEL });
            }
        }
        dst.put_slice(prefix);
    }

    fn command_name(&self) -> &'static [u8] {
        if self.is_subscribe() { SUBSCRIBE } else { CANCEL }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::zmtp::test_hex::hex;

    fn enc(s: &Subscription, form: SubscriptionForm) -> String {
        let mut v = Vec::new();
        s.encode(form, &mut v);
        assert_eq!(v.len(), s.encoded_len(form));
        hex(&v)
    }

    #[test]
    fn both_forms_match_the_captures() {
        use SubscriptionForm::*;
        let sub = Subscription::Subscribe(Bytes::from_static(b"interop:"));
        let cancel = Subscription::Cancel(Bytes::from_static(b"interop:"));
        let all = Subscription::Subscribe(Bytes::new());
        assert_eq!(enc(&sub, Command), "041209535542534352494245696e7465726f703a");
        assert_eq!(enc(&cancel, Command), "040f0643414e43454c696e7465726f703a");
        assert_eq!(enc(&all, Command), "040a09535542534352494245");
        assert_eq!(enc(&sub, DataFrame), "000901696e7465726f703a");
        assert_eq!(enc(&cancel, DataFrame), "000900696e7465726f703a");
        assert_eq!(enc(&all, DataFrame), "000101");
        let py = Subscription::Subscribe(Bytes::from_static(b"py:t"));
        assert_eq!(enc(&py, DataFrame), "00050170793a74");
        assert_eq!(
            enc(&Subscription::Cancel(Bytes::from_static(b"py:t")), DataFrame),
            "00050070793a74"
        );
    }

    #[test]
    fn form_follows_the_receivers_version() {
        assert_eq!(SubscriptionForm::for_peer(ZmtpVersion::V3_0), SubscriptionForm::DataFrame);
        assert_eq!(SubscriptionForm::for_peer(ZmtpVersion::V3_1), SubscriptionForm::Command);
    }

    #[test]
    fn data_form_is_recognised_only_as_a_single_frame_starting_with_0_or_1() {
        let sub = Message::single(Bytes::from_static(b"\x01interop:"));
        assert_eq!(
            Subscription::from_data_message(&sub),
            Some(Subscription::Subscribe(Bytes::from_static(b"interop:")))
        );
        let cancel = Message::single(Bytes::from_static(b"\x00"));
        assert_eq!(
            Subscription::from_data_message(&cancel),
            Some(Subscription::Cancel(Bytes::new()))
        );
        for other in [
            Message::single(Bytes::from_static(b"\x02hello")),
            Message::single(Bytes::new()),
            Message::from_frames([&b"\x01a"[..], b"b"]),
        ] {
            assert_eq!(Subscription::from_data_message(&other), None);
        }
        let cmd = sub_to_cmd();
        assert_eq!(
            Subscription::from_command(&cmd),
            Some(Subscription::Cancel(Bytes::from_static(b"x")))
        );
    }

    fn sub_to_cmd() -> Command {
        Subscription::Cancel(Bytes::from_static(b"x")).to_command()
    }
}
