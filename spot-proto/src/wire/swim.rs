//! SWIM datagrams.
