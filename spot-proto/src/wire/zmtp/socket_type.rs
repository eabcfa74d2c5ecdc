//! ZMTP socket types (the `Socket-Type` READY property) and the valid-partner table.

use core::fmt;

/// A ZeroMQ socket type, as named in the `Socket-Type` READY property.
///
/// The draft types of RFC 41 and later (CLIENT, SERVER, RADIO, ...) are included so a peer using
/// them gets a precise "incompatible" reason rather than "unknown".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SocketType {
    /// PAIR.
    Pair,
    /// PUB.
    Pub,
    /// SUB.
    Sub,
    /// REQ.
    Req,
    /// REP.
    Rep,
    /// DEALER.
    Dealer,
    /// ROUTER.
    Router,
    /// PULL.
    Pull,
    /// PUSH.
    Push,
    /// XPUB.
    XPub,
    /// XSUB.
    XSub,
    /// SERVER (draft).
    Server,
    /// CLIENT (draft).
    Client,
    /// RADIO (draft).
    Radio,
    /// DISH (draft).
    Dish,
    /// GATHER (draft).
    Gather,
    /// SCATTER (draft).
    Scatter,
    /// DGRAM (draft).
    Dgram,
    /// PEER (draft).
    Peer,
    /// CHANNEL (draft).
    Channel,
}

const ALL: [SocketType; 20] = [
    SocketType::Pair,
    SocketType::Pub,
    SocketType::Sub,
    SocketType::Req,
    SocketType::Rep,
    SocketType::Dealer,
    SocketType::Router,
    SocketType::Pull,
    SocketType::Push,
    SocketType::XPub,
    SocketType::XSub,
    SocketType::Server,
    SocketType::Client,
    SocketType::Radio,
    SocketType::Dish,
    SocketType::Gather,
    SocketType::Scatter,
    SocketType::Dgram,
    SocketType::Peer,
    SocketType::Channel,
];

impl SocketType {
    /// Every socket type.
    pub const ALL: &'static [SocketType] = &ALL;

    /// The name on the wire, e.g. `"DEALER"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SocketType::Pair => "PAIR",
            SocketType::Pub => "PUB",
            SocketType::Sub => "SUB",
            SocketType::Req => "REQ",
            SocketType::Rep => "REP",
            SocketType::Dealer => "DEALER",
            SocketType::Router => "ROUTER",
            SocketType::Pull => "PULL",
            SocketType::Push => "PUSH",
            SocketType::XPub => "XPUB",
            SocketType::XSub => "XSUB",
            SocketType::Server => "SERVER",
            SocketType::Client => "CLIENT",
            SocketType::Radio => "RADIO",
            SocketType::Dish => "DISH",
            SocketType::Gather => "GATHER",
            SocketType::Scatter => "SCATTER",
            SocketType::Dgram => "DGRAM",
            SocketType::Peer => "PEER",
            SocketType::Channel => "CHANNEL",
        }
    }

    /// Parses a `Socket-Type` value (ASCII case-insensitive); `None` for an unknown name.
    pub fn from_name(name: &[u8]) -> Option<SocketType> {
        ALL.iter().copied().find(|t| t.as_str().as_bytes().eq_ignore_ascii_case(name))
    }

    /// The socket types this one may talk to (RFC 23 / RFC 28, as libzmq enforces them).
    pub const fn valid_partners(self) -> &'static [SocketType] {
        use SocketType::*;
        match self {
            Pair => &[Pair],
            Pub | XPub => &[Sub, XSub],
            Sub | XSub => &[Pub, XPub],
            Req => &[Rep, Router],
            Rep => &[Req, Dealer],
            Dealer => &[Rep, Dealer, Router],
            Router => &[Req, Dealer, Router],
            Pull => &[Push],
            Push => &[Pull],
            Server => &[Client],
            Client => &[Server],
            Radio => &[Dish],
            Dish => &[Radio],
            Gather => &[Scatter],
            Scatter => &[Gather],
            Dgram => &[Dgram],
            Peer => &[Peer],
            Channel => &[Channel],
        }
    }

    /// Whether a socket of this type may talk to a socket of type `peer`.
    pub fn is_valid_partner(self, peer: SocketType) -> bool {
        self.valid_partners().contains(&peer)
    }

    /// Whether this type publishes (PUB or XPUB): what a dialer meets at an XPUB endpoint such as
    /// the C++ original or a pyzmq XPUB.
    pub const fn is_publisher(self) -> bool {
        matches!(self, SocketType::Pub | SocketType::XPub)
    }

    /// Whether this type subscribes (SUB or XSUB).
    pub const fn is_subscriber(self) -> bool {
        matches!(self, SocketType::Sub | SocketType::XSub)
    }

    /// Whether the READY of this type carries an `Identity` property (as libzmq sends it: REQ,
    /// DEALER and ROUTER).
    pub const fn sends_identity(self) -> bool {
        matches!(self, SocketType::Req | SocketType::Dealer | SocketType::Router)
    }
}

impl fmt::Display for SocketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in SocketType::ALL {
            assert_eq!(SocketType::from_name(t.as_str().as_bytes()), Some(*t));
        }
        assert_eq!(SocketType::from_name(b"xpub"), Some(SocketType::XPub));
        assert_eq!(SocketType::from_name(b"STREAM"), None);
        assert_eq!(SocketType::from_name(b""), None);
    }

    #[test]
    fn partner_table_is_symmetric_and_matches_the_brief() {
        for a in SocketType::ALL {
            for b in SocketType::ALL {
                assert_eq!(a.is_valid_partner(*b), b.is_valid_partner(*a), "{a}-{b}");
            }
        }
        use SocketType::*;
        for (a, b) in [
            (Dealer, Router),
            (Dealer, Dealer),
            (Router, Router),
            (Pub, Sub),
            (Pub, XSub),
            (XPub, Sub),
            (XPub, XSub),
        ] {
            assert!(a.is_valid_partner(b), "{a}-{b}");
        }
        for (a, b) in [(Dealer, XPub), (Sub, Router), (XSub, Dealer), (Pub, Pub)] {
            assert!(!a.is_valid_partner(b), "{a}-{b}");
        }
    }
}
