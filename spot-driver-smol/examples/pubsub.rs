//! Two SPOT nodes on loopback: one owns a topic, the other subscribes and receives.
//!
//! Run with `cargo run -p spot-driver-smol --example pubsub`.
#![allow(clippy::print_stdout)]

use std::error::Error;
use std::time::Duration;

use spot_driver_smol::SpotNode;
use spot_proto::node::NodeConfig;

fn main() -> Result<(), Box<dyn Error>> {
    smol::block_on(run())
}

async fn run() -> Result<(), Box<dyn Error>> {
    let loopback = "tcp://127.0.0.1:0".parse()?;
    let owner = SpotNode::builder(NodeConfig::local().with_seed(1)).bind(loopback).start().await?;
    let loopback = "tcp://127.0.0.1:0".parse()?;
    let reader = SpotNode::builder(NodeConfig::local().with_seed(2)).bind(loopback).start().await?;
    let owner_endpoint = owner.advertised().ok_or("the owner is bound")?;
    let reader_endpoint = reader.advertised().ok_or("the reader is bound")?;
    println!("owner  {} at {owner_endpoint}", owner.node_id());
    println!("reader {} at {reader_endpoint}", reader.node_id());

    // Both join one cluster (SWIM over UDP on the same port numbers).
    owner.join(&[]).await?;
    reader.join(std::slice::from_ref(&owner_endpoint)).await?;

    owner.topic_create("news").await?;
    let report = reader.cluster_add(owner_endpoint).await?;
    println!("reader synced with {:?}", report.synced);
    let mut news = reader.subscribe("news").await?;
    // A sync after subscribing: the owner has the subscription once its answer is back.
    reader.cluster_sync(Some(Duration::from_secs(2))).await?;

    for headline in ["spot runs on smol", "two nodes, one topic", "bye"] {
        owner.publish("news", headline.as_bytes().to_vec()).await?;
    }
    for _ in 0..3 {
        let message = news.recv_timeout(Duration::from_secs(5)).await?;
        let text = String::from_utf8_lossy(&message.payload);
        println!("reader got [{}] {text}", message.topic());
    }
    println!("members seen by the owner: {:?}", owner.members().await?);

    reader.shutdown().await;
    owner.shutdown().await;
    Ok(())
}
