//! Rough one-way throughput between two nodes over loopback TCP, in one process.
//!
//! `cargo run --release -p spot-driver-tokio --example throughput -- [MESSAGES] [SIZE]`
//! (defaults: 200000 messages of 16 bytes). The publisher uses `publish_nowait` in bursts; the
//! subscriber counts what its stream yields. Prints messages per second and what was dropped.
#![allow(clippy::print_stdout)]

use std::error::Error;
use std::time::{Duration, Instant};

use spot_driver_tokio::SpotNode;
use spot_proto::node::NodeConfig;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().map_or(Ok(200_000), |a| a.parse())?;
    let size: usize = args.next().map_or(Ok(16), |a| a.parse())?;

    let mut config = NodeConfig::local().with_seed(1);
    config.send_hwm = usize::MAX / 2;
    let owner =
        SpotNode::builder(config.clone()).bind("tcp://127.0.0.1:0".parse()?).start().await?;
    let reader = SpotNode::builder(config.with_seed(2))
        .bind("tcp://127.0.0.1:0".parse()?)
        .stream_capacity(1 << 20)
        .start()
        .await?;
    owner.topic_create("bench").await?;
    reader.cluster_add(owner.advertised().ok_or("bound")?).await?;
    let mut stream = reader.subscribe("bench").await?;
    reader.cluster_sync(Some(Duration::from_secs(2))).await?;

    let payload = bytes::Bytes::from(vec![7u8; size]);
    let started = Instant::now();
    let publisher = owner.clone();
    let publishing = tokio::spawn(async move {
        for chunk in 0..count.div_ceil(1000) {
            for _ in 0..1000.min(count - chunk * 1000) {
                publisher.publish_nowait("bench", payload.clone())?;
            }
            // A round trip every burst keeps the command queue short.
            publisher.stats().await?;
        }
        Ok::<_, spot_proto::NodeError>(())
    });
    let mut received = 0usize;
    while received < count {
        match stream.recv_timeout(Duration::from_secs(2)).await {
            Ok(_) => received += 1,
            Err(_) => break,
        }
    }
    let elapsed = started.elapsed();
    publishing.await??;
    let rate = received as f64 / elapsed.as_secs_f64();
    println!(
        "{received}/{count} messages of {size} B in {:.3} s: {:.0} msg/s, {:.1} MB/s",
        elapsed.as_secs_f64(),
        rate,
        rate * size as f64 / 1e6
    );
    println!(
        "dropped: stream {}, node {:?}, driver {:?}",
        stream.dropped(),
        reader.stats().await?,
        reader.driver_stats()
    );
    reader.shutdown().await;
    owner.shutdown().await;
    Ok(())
}
