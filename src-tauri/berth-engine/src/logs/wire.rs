//! A container's (or a Swarm service's) logs read straight off a connection of Berth's own, in
//! blocks.
//!
//! Through bollard, hyper hands an HTTP body on one chunk at a time, and a following stream
//! is one chunk per line (the engine flushes each as it comes): every line costs a wake-up of
//! the connection's task and one of the reader's, which at a flood is most of the reader's CPU
//! (docs/benchmarks.md, "Log streams read off the wire"). Here one read takes whatever the
//! connection holds, and the chunked encoding and the engine's 8-byte frame headers are taken
//! apart in place. Frames come out as bollard's decoder gives them, so the reader is the same
//! for both: an unframed body (a TTY container's) line by line, what is left at the end as it
//! stands.
//!
//! In a flood the engine writes each line on its own, and a reader waiting on the socket is woken
//! for each: the engine's thread pays for every wake-up, and that thread is what limits a flood.
//! So while reads find only a little already waiting, each read first lets lines gather for
//! [`GATHER`], on the thread, without waiting on the socket: the engine then writes without
//! waking anyone (twice the lines for half the CPU, docs/benchmarks.md, "Lines gathered in a
//! flood"). Tokio's timer cannot help: it counts whole milliseconds, and the socket's buffer
//! counts every write's overhead and fills within one at a flood (a reader that waited a
//! millisecond took twice as long); nor can any wait the runtime polls, as the socket's
//! readiness still wakes it.

use std::io;
use std::time::Duration;

use bollard::container::LogOutput;
use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::line::Stream;
use crate::Engine;
use crate::dial::Conn;

/// How long lines gather before a read in a flood: about 20 lines at the engine's 200k a second,
/// a tenth of what its socket buffers. 50 and 200 µs gathered less (docs/benchmarks.md).
const GATHER: Duration = Duration::from_micros(100);

/// A read that took less found its bytes already waiting.
const READY: Duration = Duration::from_micros(50);

/// Bytes one read may take.
const BLOCK: usize = 128 << 10;

/// The longest response head, and the most of an error's body read.
const MAX_HEAD: usize = 64 << 10;

/// How long the engine may take to connect and answer, as bollard's requests may.
const ANSWER_WAIT: Duration = Duration::from_secs(120);

/// One logs answer, being read.
pub(crate) struct LogStream {
    conn: Box<dyn Conn>,
    /// Read and not yet taken apart.
    read: BytesMut,
    body: Body,
    /// The body's bytes not yet cut into frames.
    frames: BytesMut,
    /// A frame's stream and length, its header read.
    frame: Option<(u8, usize)>,
    ended: bool,
    /// The last read found a little already waiting: lines come one by one, flat out.
    flooding: bool,
}

/// How the body's end is known.
enum Body {
    Chunked(Chunk),
    Length(usize),
    /// It ends with the connection.
    Close,
}

/// Where the chunked decoding stands.
enum Chunk {
    Size,
    Data(usize),
    DataEnd,
    Trailer,
}

/// Asks the engine for the logs at `what` (`containers/{id}/logs`, `services/{id}/logs`;
/// `query`: the API's parameters, encoded) on a connection of its own and reads the answer's
/// head. A refusal is an error with the engine's message.
pub(crate) async fn open(engine: &Engine, what: &str, query: &str) -> io::Result<LogStream> {
    let version = engine.docker().client_version();
    let path = format!("/v{version}/{what}?{query}");
    let opened = async { ask(engine.open_conn().await?, &path).await };
    tokio::time::timeout(ANSWER_WAIT, opened)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the engine did not answer"))?
}

/// `GET path` on `conn`, its answer's head read.
async fn ask(mut conn: Box<dyn Conn>, path: &str) -> io::Result<LogStream> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: Berth\r\n\r\n");
    conn.write_all(request.as_bytes()).await?;
    conn.flush().await?;
    let mut read = BytesMut::with_capacity(BLOCK);
    let (status, body) = loop {
        read.reserve(BLOCK);
        if conn.read_buf(&mut read).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the engine closed the connection without an answer",
            ));
        }
        if let Some((status, body, len)) = head(&read)? {
            read.advance(len);
            break (status, body);
        }
    };
    let mut stream = LogStream {
        conn,
        read,
        body,
        frames: BytesMut::new(),
        frame: None,
        ended: false,
        flooding: false,
    };
    stream.dechunk()?;
    if status == 200 {
        return Ok(stream);
    }
    // The engine says why in the body: `{"message": "No such container: …"}`.
    while !stream.ended && stream.frames.len() < MAX_HEAD {
        stream.fill().await?;
    }
    let text = String::from_utf8_lossy(&stream.frames);
    let message = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| text.trim().to_owned());
    let kind = match status {
        404 => io::ErrorKind::NotFound,
        _ => io::ErrorKind::Other,
    };
    Err(io::Error::new(
        kind,
        format!("the engine answered {status}: {message}"),
    ))
}

/// The status, body framing and length of a complete response head at the start of `read`.
fn head(read: &[u8]) -> io::Result<Option<(u16, Body, usize)>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    let len = match response.parse(read) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if read.len() < MAX_HEAD => return Ok(None),
        Ok(httparse::Status::Partial) => {
            return Err(invalid("an answer's head without end".into()));
        }
        Err(err) => return Err(invalid(format!("not an HTTP answer: {err}"))),
    };
    let header = |name: &str| {
        (response.headers.iter())
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_ascii_lowercase())
    };
    let body = if header("transfer-encoding").is_some_and(|v| v.ends_with("chunked")) {
        Body::Chunked(Chunk::Size)
    } else if let Some(length) = header("content-length") {
        Body::Length(
            (length.parse()).map_err(|_| invalid(format!("a Content-Length of {length:?}")))?,
        )
    } else {
        Body::Close
    };
    Ok(Some((response.code.unwrap_or_default(), body, len)))
}

impl LogStream {
    /// The frames that came with the next read: none when the body has ended.
    pub async fn next(&mut self) -> Option<io::Result<Vec<LogOutput>>> {
        loop {
            let mut out = Vec::new();
            self.cut(&mut out);
            if !out.is_empty() {
                return Some(Ok(out));
            }
            if self.ended {
                // What is left at the end is output that did not end its line.
                return (!self.frames.is_empty()).then(|| {
                    let message = self.frames.split().freeze();
                    Ok(vec![LogOutput::Console { message }])
                });
            }
            if let Err(err) = self.fill().await {
                self.ended = true;
                self.frames.clear();
                return Some(Err(err));
            }
        }
    }

    /// Reads once and takes the body's bytes out of what came.
    async fn fill(&mut self) -> io::Result<()> {
        if self.flooding {
            // Blocking, but within the 10–100 µs tokio's authors allow between awaits, and only
            // while a flood lasts.
            std::thread::sleep(GATHER);
        }
        self.read.reserve(BLOCK);
        let asked = std::time::Instant::now();
        let n = self.conn.read_buf(&mut self.read).await?;
        self.flooding = n < BLOCK / 4 && asked.elapsed() < READY;
        if n == 0 {
            self.ended = true;
            return match (&self.body, self.read.is_empty()) {
                (Body::Close, true) => Ok(()),
                _ => Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the engine closed the connection mid-answer",
                )),
            };
        }
        self.dechunk()
    }

    /// Moves the body's bytes from `read` to `frames`, as far as they have come.
    fn dechunk(&mut self) -> io::Result<()> {
        let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
        loop {
            let chunk = match &mut self.body {
                Body::Close => {
                    self.frames.extend_from_slice(&self.read);
                    self.read.clear();
                    return Ok(());
                }
                Body::Length(left) => {
                    take(&mut self.read, &mut self.frames, left);
                    self.ended |= *left == 0;
                    return Ok(());
                }
                Body::Chunked(chunk) => chunk,
            };
            match chunk {
                Chunk::Size | Chunk::Trailer => {
                    let Some(nl) = memchr::memchr(b'\n', &self.read) else {
                        return match self.read.len() < MAX_HEAD {
                            true => Ok(()),
                            false => Err(invalid("a chunk header without end")),
                        };
                    };
                    if nl == 0 || self.read[nl - 1] != b'\r' {
                        return Err(invalid("a chunk header not ended by CRLF"));
                    }
                    let eol = nl - 1;
                    let line = self.read.split_to(eol + 2);
                    if matches!(chunk, Chunk::Trailer) {
                        self.ended |= eol == 0;
                        if self.ended {
                            return Ok(());
                        }
                        continue;
                    }
                    let hex = line[..eol].split(|b| *b == b';').next().unwrap_or_default();
                    let size = std::str::from_utf8(hex)
                        .ok()
                        .and_then(|h| usize::from_str_radix(h.trim(), 16).ok())
                        .ok_or_else(|| invalid("a chunk size that is not a number"))?;
                    *chunk = if size == 0 {
                        Chunk::Trailer
                    } else {
                        Chunk::Data(size)
                    };
                }
                Chunk::Data(left) => {
                    if self.read.is_empty() {
                        return Ok(());
                    }
                    take(&mut self.read, &mut self.frames, left);
                    if *left == 0 {
                        *chunk = Chunk::DataEnd;
                    }
                }
                Chunk::DataEnd => {
                    if self.read.len() < 2 {
                        return Ok(());
                    }
                    if self.read[..2] != *b"\r\n" {
                        return Err(invalid("a chunk that does not end where its size says"));
                    }
                    self.read.advance(2);
                    *chunk = Chunk::Size;
                }
            }
        }
    }

    /// Cuts the whole frames out of `frames`, as bollard's decoder does on a unix socket.
    fn cut(&mut self, out: &mut Vec<LogOutput>) {
        loop {
            let Some((stream, len)) = self.frame else {
                // A frame starts with its stream (0, 1 or 2) and three zeros; anything else is
                // a TTY's output, which is not framed.
                match self.frames.first() {
                    None => return,
                    Some(&b) if b > 2 => {
                        let Some(nl) = memchr::memchr(b'\n', &self.frames) else {
                            return;
                        };
                        let message = self.frames.split_to(nl + 1).freeze();
                        out.push(LogOutput::Console { message });
                        continue;
                    }
                    Some(_) if self.frames.len() < 8 => return,
                    Some(_) => {
                        let header = self.frames.split_to(8);
                        let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
                        self.frame = Some((header[0], len as usize));
                        continue;
                    }
                }
            };
            if self.frames.len() < len {
                return;
            }
            let message = self.frames.split_to(len).freeze();
            self.frame = None;
            out.push(match stream {
                0 => LogOutput::StdIn { message },
                1 => LogOutput::StdOut { message },
                _ => LogOutput::StdErr { message },
            });
        }
    }
}

/// Moves up to `left` bytes of the body from `read` to `frames`, counting them off.
fn take(read: &mut BytesMut, frames: &mut BytesMut, left: &mut usize) {
    let n = (*left).min(read.len());
    frames.extend_from_slice(&read[..n]);
    read.advance(n);
    *left -= n;
}

/// A frame's stream and bytes, as a log line's: a TTY's output is stdout, stdin is nobody's.
pub(crate) fn stream_of(frame: LogOutput) -> Option<(Stream, Bytes)> {
    match frame {
        LogOutput::StdOut { message } | LogOutput::Console { message } => {
            Some((Stream::Stdout, message))
        }
        LogOutput::StdErr { message } => Some((Stream::Stderr, message)),
        LogOutput::StdIn { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// What `answer` reads as, written to the reader `step` bytes at a time, and the request
    /// it was sent. The tests run on two threads: the engine writes while the reader's flood
    /// pause blocks its own.
    async fn read_all(answer: &[u8], step: usize) -> (String, io::Result<Vec<LogOutput>>) {
        let (ours, mut engine) = tokio::io::duplex(1 << 20);
        let answer = answer.to_vec();
        let engine = tokio::spawn(async move {
            let mut request = vec![0u8; 4096];
            let n = engine.read(&mut request).await.unwrap();
            // A reader that gave up has closed its end: the rest goes nowhere.
            for part in answer.chunks(step) {
                if engine.write_all(part).await.is_err() {
                    break;
                }
                tokio::task::yield_now().await;
            }
            String::from_utf8(request[..n].to_vec()).unwrap()
        });
        let read = async {
            let mut stream = ask(Box::new(ours), "/v1.41/containers/c/logs?follow=0").await?;
            let mut all = Vec::new();
            while let Some(frames) = stream.next().await {
                all.extend(frames?);
            }
            Ok(all)
        };
        let read = read.await;
        (engine.await.unwrap(), read)
    }

    fn frame(stream: u8, text: &str) -> Vec<u8> {
        let mut f = vec![stream, 0, 0, 0];
        f.extend_from_slice(&(text.len() as u32).to_be_bytes());
        f.extend_from_slice(text.as_bytes());
        f
    }

    /// `body` in chunks of `size` bytes.
    fn chunked(body: &[u8], size: usize) -> Vec<u8> {
        let mut out = b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\
                        Transfer-Encoding: chunked\r\n\r\n"
            .to_vec();
        for part in body.chunks(size) {
            out.extend_from_slice(format!("{:x};ext=1\r\n", part.len()).as_bytes());
            out.extend_from_slice(part);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\nX-Trailer: 1\r\n\r\n");
        out
    }

    fn texts(frames: &[LogOutput]) -> Vec<String> {
        (frames.iter())
            .map(|f| match f {
                LogOutput::StdOut { message } => {
                    format!("out {}", String::from_utf8_lossy(message))
                }
                LogOutput::StdErr { message } => {
                    format!("err {}", String::from_utf8_lossy(message))
                }
                LogOutput::Console { message } => {
                    format!("tty {}", String::from_utf8_lossy(message))
                }
                LogOutput::StdIn { message } => format!("in {}", String::from_utf8_lossy(message)),
            })
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn frames_come_out_whole_however_the_chunks_and_reads_cut_them() {
        let lines = [
            "2026-12-06T00:00:00.1Z one\n",
            "",
            "2026-12-06T00:00:00.2Z two\n",
        ];
        let mut body = frame(1, lines[0]);
        body.extend(frame(2, lines[1]));
        body.extend(frame(1, lines[2]));
        body.extend(frame(2, &"x".repeat(20_000)));
        let want = vec![
            format!("out {}", lines[0]),
            "err ".to_owned(),
            format!("out {}", lines[2]),
            format!("err {}", "x".repeat(20_000)),
        ];
        for (size, step) in [(1, 1), (3, 7), (9, 5), (16 << 10, 4096), (1 << 20, 1 << 20)] {
            let (request, read) = read_all(&chunked(&body, size), step).await;
            assert_eq!(
                texts(&read.unwrap()),
                want,
                "chunks of {size}, reads of {step}"
            );
            assert!(
                request.starts_with("GET /v1.41/containers/c/logs?follow=0 HTTP/1.1\r\n"),
                "{request}"
            );
        }
    }

    /// A line that comes after a quiet moment is read as it comes: only reads that find lines
    /// already waiting make the next one wait for more.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_that_waited_for_its_line_does_not_hold_the_next_back() {
        let (ours, mut engine) = tokio::io::duplex(1 << 20);
        let writer = tokio::spawn(async move {
            let mut request = vec![0u8; 4096];
            let _ = engine.read(&mut request).await.unwrap();
            let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
            engine.write_all(head).await.unwrap();
            for line in ["one\n", "two\n"] {
                tokio::time::sleep(Duration::from_millis(30)).await;
                let f = frame(1, line);
                let chunk = [format!("{:x}\r\n", f.len()).as_bytes(), &f, b"\r\n"].concat();
                engine.write_all(&chunk).await.unwrap();
            }
            engine
        });
        let mut stream = ask(Box::new(ours), "/v1.41/containers/c/logs?follow=1")
            .await
            .unwrap();
        for want in ["out one\n", "out two\n"] {
            let frames = stream.next().await.unwrap().unwrap();
            assert_eq!(texts(&frames), [want]);
            assert!(!stream.flooding, "{want:?} was waited for");
        }
        drop(writer.await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_tty_body_comes_line_by_line_and_its_unended_rest_at_the_end() {
        let body = b"first\nsecond\nno newline";
        let mut answer =
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
        answer.extend_from_slice(body);
        let (_, read) = read_all(&answer, 4).await;
        assert_eq!(
            texts(&read.unwrap()),
            ["tty first\n", "tty second\n", "tty no newline"]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refusal_is_an_error_with_the_engine_s_message() {
        let body = r#"{"message":"No such container: c"}"#;
        let answer = format!(
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let (_, read) = read_all(answer.as_bytes(), 10).await;
        let err = read.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert_eq!(
            err.to_string(),
            "the engine answered 404: No such container: c"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_cut_off_or_malformed_is_an_error_not_a_hang() {
        let mut cut = chunked(&frame(1, "whole\n"), 64);
        cut.truncate(cut.len() - 30);
        let (_, read) = read_all(&cut, 8).await;
        assert_eq!(read.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);

        let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n";
        let (_, read) = read_all(bad, 8).await;
        assert_eq!(read.unwrap_err().kind(), io::ErrorKind::InvalidData);

        let (_, read) = read_all(b"SSH-2.0-OpenSSH\r\n\r\n", 8).await;
        assert_eq!(read.unwrap_err().kind(), io::ErrorKind::InvalidData);
    }
}
