//! Subscription extensions: the acknowledgement of (pattern) subscriptions.
//! PATTERN_SUBSCRIBE and PATTERN_UNSUBSCRIBE carry one [`super::Pattern`] frame and need no type
//! of their own.

use bytes::Bytes;

use super::code::CommandCode;
use super::fields::{Pattern, Topic};
use super::layout::Reader;
use crate::{DecodeError, Limits};

/// The outcome a SUBSCRIBE_ACK reports. Values this version does not know are carried as
/// [`AckStatus::Other`] (a newer node may report finer reasons).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AckStatus {
    /// 0: done.
    Ok,
    /// 1: the topic is not owned here (SUBSCRIBE), or there was no such subscription
    /// (UNSUBSCRIBE, PATTERN_UNSUBSCRIBE).
    NotFound,
    /// 2: the topic or pattern is not valid here.
    Invalid,
    /// 3: refused by a limit or a policy of the receiver.
    Refused,
    /// Any other value.
    Other(u8),
}

impl AckStatus {
    /// The status byte.
    pub const fn as_u8(self) -> u8 {
        match self {
            AckStatus::Ok => 0,
            AckStatus::NotFound => 1,
            AckStatus::Invalid => 2,
            AckStatus::Refused => 3,
            AckStatus::Other(value) => value,
        }
    }

    /// The status for a byte.
    pub const fn from_u8(value: u8) -> Self {
        match value {
            0 => AckStatus::Ok,
            1 => AckStatus::NotFound,
            2 => AckStatus::Invalid,
            3 => AckStatus::Refused,
            other => AckStatus::Other(other),
        }
    }
}

/// The request a SUBSCRIBE_ACK answers, with its topic or pattern.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AckedRequest {
    /// A SUBSCRIBE (0x02).
    Subscribe(Topic),
    /// An UNSUBSCRIBE (0x03).
    Unsubscribe(Topic),
    /// A PATTERN_SUBSCRIBE (0x30).
    PatternSubscribe(Pattern),
    /// A PATTERN_UNSUBSCRIBE (0x31).
    PatternUnsubscribe(Pattern),
}

impl AckedRequest {
    /// The code of the acknowledged command.
    pub const fn code(&self) -> CommandCode {
        match self {
            AckedRequest::Subscribe(_) => CommandCode::Subscribe,
            AckedRequest::Unsubscribe(_) => CommandCode::Unsubscribe,
            AckedRequest::PatternSubscribe(_) => CommandCode::PatternSubscribe,
            AckedRequest::PatternUnsubscribe(_) => CommandCode::PatternUnsubscribe,
        }
    }

    /// The topic or pattern text.
    pub fn subject(&self) -> &str {
        match self {
            AckedRequest::Subscribe(t) | AckedRequest::Unsubscribe(t) => t.as_str(),
            AckedRequest::PatternSubscribe(p) | AckedRequest::PatternUnsubscribe(p) => p.as_str(),
        }
    }

    fn subject_bytes(&self) -> &Bytes {
        match self {
            AckedRequest::Subscribe(t) | AckedRequest::Unsubscribe(t) => t.as_bytes(),
            AckedRequest::PatternSubscribe(p) | AckedRequest::PatternUnsubscribe(p) => p.as_bytes(),
        }
    }
}

/// SUBSCRIBE_ACK (0x32): `[ack][topic or pattern]`.
///
/// The ack frame is two bytes: the code of the acknowledged command (0x02, 0x03, 0x30 or 0x31)
/// and the [`AckStatus`] byte. The second frame is the topic (for 0x02, 0x03) or the pattern (for
/// 0x30, 0x31) exactly as the request carried it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SubscribeAck {
    /// What is acknowledged.
    pub request: AckedRequest,
    /// The outcome.
    pub status: AckStatus,
}

impl SubscribeAck {
    pub(crate) fn encode_frames(&self) -> [Bytes; 2] {
        let header = [self.request.code().as_u8(), self.status.as_u8()];
        [Bytes::copy_from_slice(&header), self.request.subject_bytes().clone()]
    }

    pub(crate) fn decode_frames(
        ack: &Bytes,
        subject: &Bytes,
        limits: &Limits,
    ) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(ack, "SUBSCRIBE_ACK header");
        let acked = reader.u8("SUBSCRIBE_ACK acked code")?;
        let status = AckStatus::from_u8(reader.u8("SUBSCRIBE_ACK status")?);
        reader.finish()?;
        let subject = subject.clone();
        let request = match CommandCode::from_u8(acked) {
            Some(CommandCode::Subscribe) => AckedRequest::Subscribe(Topic::new(subject, limits)?),
            Some(CommandCode::Unsubscribe) => {
                AckedRequest::Unsubscribe(Topic::new(subject, limits)?)
            }
            Some(CommandCode::PatternSubscribe) => {
                AckedRequest::PatternSubscribe(Pattern::new(subject, limits)?)
            }
            Some(CommandCode::PatternUnsubscribe) => {
                AckedRequest::PatternUnsubscribe(Pattern::new(subject, limits)?)
            }
            _ => {
                return Err(DecodeError::InvalidValue {
                    what: "SUBSCRIBE_ACK acked code",
                    value: u64::from(acked),
                });
            }
        };
        Ok(SubscribeAck { request, status })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_bytes_round_trip() {
        for value in 0..=255u8 {
            assert_eq!(AckStatus::from_u8(value).as_u8(), value);
        }
        assert_eq!(AckStatus::from_u8(3), AckStatus::Refused);
        assert_eq!(AckStatus::from_u8(9), AckStatus::Other(9));
    }

    #[test]
    fn ack_exact_bytes_and_bad_acked_code() {
        let limits = Limits::default();
        let ack = SubscribeAck {
            request: AckedRequest::PatternSubscribe(
                Pattern::copy_from_str("chat:*", &limits).unwrap(),
            ),
            status: AckStatus::Ok,
        };
        let [header, subject] = ack.encode_frames();
        assert_eq!(&header[..], &[0x30, 0x00]);
        assert_eq!(&subject[..], b"chat:*");
        assert_eq!(SubscribeAck::decode_frames(&header, &subject, &limits).unwrap(), ack);
        assert_eq!(ack.request.subject(), "chat:*");

        let publish_acked = Bytes::from_static(&[0x01, 0x00]);
        assert_eq!(
            SubscribeAck::decode_frames(&publish_acked, &subject, &limits).unwrap_err(),
            DecodeError::InvalidValue { what: "SUBSCRIBE_ACK acked code", value: 1 }
        );
    }
}
