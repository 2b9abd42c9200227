//! RFC 6455 upgrade and echo on `/sockets/1/…`.

use std::io::{self, BufReader, Write};
use std::net::TcpStream;

use tungstenite::handshake::derive_accept_key;
use tungstenite::protocol::Role;
use tungstenite::{Error, Message, WebSocket};

use crate::header_safe;
use crate::http::Request;

/// Answers 101 and echoes every text and binary message until the peer closes.
///
/// `Sec-WebSocket-Accept` is sent only when the request carried a key: a proxy that turns an
/// HTTP/2 extended CONNECT (RFC 8441, which has no key) into an HTTP/1.1 upgrade may not
/// invent one, and this upstream must still serve it.
pub fn upgrade_and_echo(mut reader: BufReader<TcpStream>, request: &Request) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\nx-upstream-path: {}\r\n",
        header_safe(&request.target)
    );
    if let Some(key) = request.header("sec-websocket-key") {
        head.push_str(&format!(
            "sec-websocket-accept: {}\r\n",
            derive_accept_key(key)
        ));
    }
    head.push_str("\r\n");
    let stream = reader.get_mut();
    stream.write_all(head.as_bytes())?;
    stream.flush()?;

    // Frames the client sent right behind its handshake may already sit in the buffer.
    let early = reader.buffer().to_vec();
    let mut socket = WebSocket::from_partially_read(reader.into_inner(), early, Role::Server, None);
    loop {
        match socket.read() {
            Ok(message @ (Message::Text(_) | Message::Binary(_))) => {
                socket.send(message).map_err(to_io)?
            }
            // Pings are answered and close replies queued by tungstenite itself.
            Ok(_) => {}
            Err(Error::ConnectionClosed | Error::AlreadyClosed) => return Ok(()),
            Err(err) => return Err(to_io(err)),
        }
    }
}

fn to_io(err: Error) -> io::Error {
    match err {
        Error::Io(err) => err,
        other => io::Error::other(other),
    }
}
