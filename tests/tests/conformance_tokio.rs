//! The conformance suite against the tokio driver.

spot_tests::conformance_tests!(spot_tests::conformance::Tokio);
