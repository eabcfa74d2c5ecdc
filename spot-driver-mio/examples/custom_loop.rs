//! A custom mio event loop that serves a plain TCP echo listener of its own beside a SPOT node
//! (tokens 0..100 are the loop's, 1000..2000 the node's). A second node, on the blocking API,
//! subscribes to the loop's topic from another thread, and a plain client talks to the echo
//! listener; the loop publishes a tick every 100 ms until both are done.
//!
//! Run with `cargo run -p spot-driver-mio --example custom_loop`.
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::error::Error;
use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use spot_driver_mio::{SpotLoop, SpotNode};
use spot_proto::node::NodeConfig;

const ECHO: Token = Token(0);
const TICK: Duration = Duration::from_millis(100);

fn main() -> Result<(), Box<dyn Error>> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(128);

    // Our own socket: an echo listener.
    let mut echo = TcpListener::bind("127.0.0.1:0".parse()?)?;
    let echo_address = echo.local_addr()?;
    poll.registry().register(&mut echo, ECHO, Interest::READABLE)?;
    let mut clients: HashMap<Token, TcpStream> = HashMap::new();
    let mut next_client = 1;

    // The SPOT node, in the same poll, tokens 1000..2000.
    let mut spot = SpotLoop::new(NodeConfig::local().with_seed(1), poll.registry(), 1000..2000)?;
    let endpoint = spot.bind(&"tcp://127.0.0.1:0".parse()?)?;
    spot.topic_create("ticks")?;
    println!("loop: echo on {echo_address}, SPOT node on {endpoint}");

    // Another thread: a blocking node that reads three ticks, and an echo client.
    let reader = std::thread::spawn(move || -> Result<Vec<String>, String> {
        let config = NodeConfig::local().with_seed(2);
        let node = SpotNode::builder(config)
            .bind("tcp://127.0.0.1:0".parse().map_err(|e| format!("{e}"))?)
            .start()
            .map_err(|e| e.to_string())?;
        node.cluster_add(endpoint).map_err(|e| e.to_string())?;
        node.subscribe("ticks").map_err(|e| e.to_string())?;
        let mut ticks = Vec::new();
        for _ in 0..3 {
            let message = node.recv(5000).map_err(|e| e.to_string())?;
            ticks.push(String::from_utf8_lossy(&message.payload).into_owned());
        }
        let mut client = std::net::TcpStream::connect(echo_address).map_err(|e| e.to_string())?;
        client.write_all(b"ping").map_err(|e| e.to_string())?;
        let mut answer = [0u8; 4];
        client.read_exact(&mut answer).map_err(|e| e.to_string())?;
        ticks.push(format!("echo answered {}", String::from_utf8_lossy(&answer)));
        node.shutdown();
        Ok(ticks)
    });

    let started = Instant::now();
    let mut next_tick = Instant::now() + TICK;
    let mut tick = 0u32;
    while !reader.is_finished() && started.elapsed() < Duration::from_secs(15) {
        // Wait for readiness, the node's deadline or our own tick, whichever comes first.
        let deadline = spot.next_deadline().map_or(next_tick, |d| d.min(next_tick));
        poll.poll(&mut events, Some(deadline.saturating_duration_since(Instant::now())))?;
        for event in events.iter() {
            match event.token() {
                ECHO => loop {
                    match echo.accept() {
                        Ok((mut stream, _)) => {
                            let token = Token(next_client);
                            next_client += 1;
                            poll.registry().register(&mut stream, token, Interest::READABLE)?;
                            clients.insert(token, stream);
                        }
                        Err(error) if error.kind() == ErrorKind::WouldBlock => break,
                        Err(error) => return Err(error.into()),
                    }
                },
                token if spot.owns(token) => spot.handle_event(event),
                token => echo_back(&mut clients, token),
            }
        }
        spot.handle_timeout();
        if Instant::now() >= next_tick {
            next_tick += TICK;
            tick += 1;
            spot.publish("ticks", format!("tick {tick}").into_bytes())?;
        }
        while let Some(event) = spot.poll_event() {
            println!("loop: node event {event:?}");
        }
    }
    let seen = reader.join().map_err(|_| "the reader thread panicked")??;
    for line in seen {
        println!("reader: {line}");
    }
    spot.close();
    Ok(())
}

/// Echoes what a client sent (reads until it would block); forgets it at end of stream.
fn echo_back(clients: &mut HashMap<Token, TcpStream>, token: Token) {
    let Some(stream) = clients.get_mut(&token) else { return };
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => {
                if stream.write_all(&buffer[..read]).is_err() {
                    break;
                }
            }
            Err(error) if error.kind() == ErrorKind::WouldBlock => return,
            Err(_) => break,
        }
    }
    clients.remove(&token);
}
