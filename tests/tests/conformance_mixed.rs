//! One cluster over loopback TCP mixing a tokio node, a smol node and a mio node.

use spot_tests::conformance::{Mio, Smol, Tokio, suite};

#[test]
fn tokio_smol_and_mio_nodes_form_one_cluster() {
    suite::mixed_cluster(&[&Tokio, &Smol, &Mio]);
}
