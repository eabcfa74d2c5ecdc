//! Small pieces of the drivers' verbs that are the same in every driver: a tag from two
//! strings (with the C API's error), and the membership queries a node without membership
//! answers with "nobody".

use crate::error::NodeError;
use crate::node::Node;
use crate::wire::spot::{MemberInfo, NodeId, Tag};

/// The tag `key=value`: `InvalidTag` (EINVAL) when it is too large or not valid.
pub fn tag(key: &str, value: &str) -> Result<Tag, NodeError> {
    Tag::copy_from_strs(key, value).map_err(|error| NodeError::InvalidTag(error.to_string()))
}

/// The other members `node` knows (any state), in the membership table's order; none before
/// it joined a cluster.
pub fn members(node: &Node) -> Vec<MemberInfo> {
    node.membership()
        .map(|m| m.members().map(|member| member.to_info()).collect())
        .unwrap_or_default()
}

/// The members of `node`'s cluster with tag `key` (and `value`, when given).
pub fn nodes_with_tag(node: &Node, key: &str, value: Option<&str>) -> Vec<NodeId> {
    node.membership().map(|m| m.nodes_with_tag(key, value)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Instant;
    use crate::error::Errno;
    use crate::node::NodeConfig;

    #[test]
    fn tags_are_checked() {
        let ok = tag("zone", "eu-1").expect("a small tag");
        assert_eq!((ok.key().as_str(), ok.value().as_str()), ("zone", "eu-1"));
        let huge = "x".repeat(1 << 17);
        let error = tag("zone", &huge).expect_err("too large");
        assert_eq!(error.errno(), Errno::EINVAL);
        assert!(matches!(error, NodeError::InvalidTag(_)));
    }

    #[test]
    fn a_node_outside_a_cluster_knows_nobody() {
        let node = Node::new(NodeConfig::local(), Instant::ZERO);
        assert!(members(&node).is_empty());
        assert!(nodes_with_tag(&node, "zone", None).is_empty());
    }
}
