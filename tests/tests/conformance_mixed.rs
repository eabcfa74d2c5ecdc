//! One cluster over loopback TCP mixing a tokio node, a smol node and a mio node; and the whole
//! suite with the nodes of each scenario taken from the drivers in turn.

use spot_tests::conformance::{Mio, Smol, Tokio, suite};

#[test]
fn tokio_smol_and_mio_nodes_form_one_cluster() {
    suite::mixed_cluster(&[&Tokio, &Smol, &Mio]);
}

spot_tests::conformance_tests!(spot_tests::conformance::Mixed::ALL);
