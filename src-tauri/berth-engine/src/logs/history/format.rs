//! The segment file format. A segment starts with [`MAGIC`], then records, each
//! `[u32 body length][u32 CRC-32 of the body][body]` (little-endian), the body's first byte its
//! kind:
//! - a line: flags, level, source (u16), timestamp (i64 ns), then the bytes the container wrote;
//! - a source: its number in this segment (u16), service, container name and container ID
//!   (each a u16 length and the bytes), and per stream (stdout, stderr) the timestamp of the
//!   source's last line stored and how many lines had exactly it, `i64::MIN` for none. A
//!   segment declares every source it names before its first line, so it reads on its own,
//!   and the newest segment alone tells where each container resumes.
//!
//! A line's position is its segment's first position (in the file's name) plus the lines
//! before it. A record cut short or whose checksum fails ends the segment: what follows is
//! damage (the writer killed mid-write, a full disk) and is cut on the next open.

/// What a segment file starts with; a new layout gets a new one.
pub const MAGIC: &[u8; 8] = b"BERTHLG1";

const LINE: u8 = 0;
const SOURCE: u8 = 1;
/// Length and checksum.
const HEAD: usize = 8;
/// A line's body before its text.
const LINE_HEAD: usize = 13;

/// Per stream (stdout, stderr): the last timestamp stored and how many lines had exactly it.
pub type Last = [Option<(i64, u32)>; 2];

/// Who wrote lines: a container, or Berth about a service (no name, no ID).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Writer {
    pub service: String,
    pub name: String,
    pub id: String,
}

#[derive(Debug, PartialEq)]
pub enum Record<'a> {
    Line {
        flags: u8,
        level: u8,
        source: u16,
        ts: i64,
        raw: &'a [u8],
    },
    Source {
        number: u16,
        writer: Writer,
        last: Last,
    },
}

pub fn put_line(out: &mut Vec<u8>, flags: u8, level: u8, source: u16, ts: i64, raw: &[u8]) {
    let at = begin(out);
    out.extend_from_slice(&[LINE, flags, level]);
    out.extend_from_slice(&source.to_le_bytes());
    out.extend_from_slice(&ts.to_le_bytes());
    out.extend_from_slice(raw);
    end(out, at);
}

pub fn put_source(out: &mut Vec<u8>, number: u16, writer: &Writer, last: &Last) {
    let at = begin(out);
    out.push(SOURCE);
    out.extend_from_slice(&number.to_le_bytes());
    for s in [&writer.service, &writer.name, &writer.id] {
        let s = &s.as_bytes()[..s.len().min(u16::MAX as usize)];
        out.extend_from_slice(&(s.len() as u16).to_le_bytes());
        out.extend_from_slice(s);
    }
    for l in last {
        let (ts, n) = l.unwrap_or((i64::MIN, 0));
        out.extend_from_slice(&ts.to_le_bytes());
        out.extend_from_slice(&n.to_le_bytes());
    }
    end(out, at);
}

/// Reserves the head of a record; [`end`] fills it in once the body is there.
fn begin(out: &mut Vec<u8>) -> usize {
    let at = out.len();
    out.extend_from_slice(&[0; HEAD]);
    at
}

fn end(out: &mut [u8], at: usize) {
    let body = &out[at + HEAD..];
    let (len, crc) = (body.len() as u32, crc32fast::hash(body));
    out[at..at + 4].copy_from_slice(&len.to_le_bytes());
    out[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
}

/// The records of a segment's bytes (its [`MAGIC`] included), and where the good part ends:
/// the whole length for an intact segment, less when its tail is damaged.
pub fn scan<'a>(bytes: &'a [u8], mut f: impl FnMut(Record<'a>)) -> usize {
    if !bytes.starts_with(MAGIC) {
        return 0;
    }
    let mut at = MAGIC.len();
    while let Some((record, next)) = decode(bytes, at) {
        f(record);
        at = next;
    }
    at
}

/// The line records of a segment's bytes as `(text start, text end, flags)`, read from their
/// heads alone: no checksum is computed, so scanning a history costs little more than reading
/// it. A search checks the records it reports with [`intact`].
pub fn lines_unchecked(bytes: &[u8]) -> impl Iterator<Item = (usize, usize, u8)> + '_ {
    let mut at = if bytes.starts_with(MAGIC) {
        MAGIC.len()
    } else {
        bytes.len()
    };
    std::iter::from_fn(move || {
        loop {
            let head = bytes.get(at..at + HEAD)?;
            let len = u32::from_le_bytes(head[..4].try_into().ok()?) as usize;
            let body = at + HEAD;
            let next = body.checked_add(len).filter(|n| *n <= bytes.len())?;
            at = next;
            if len >= LINE_HEAD && bytes[body] == LINE {
                return Some((body + LINE_HEAD, next, bytes[body + 1]));
            }
        }
    })
}

/// Whether the line record whose text [`lines_unchecked`] put at `text` has its checksum.
pub fn intact(bytes: &[u8], text: usize) -> bool {
    let at = text - LINE_HEAD - HEAD;
    decode(bytes, at).is_some()
}

/// The record at `at` and where the next starts, or `None` at the end or at damage.
fn decode(bytes: &[u8], at: usize) -> Option<(Record<'_>, usize)> {
    let head = bytes.get(at..at + HEAD)?;
    let len = u32::from_le_bytes(head[..4].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(head[4..].try_into().ok()?);
    let body = bytes.get(at + HEAD..(at + HEAD).checked_add(len)?)?;
    if crc32fast::hash(body) != crc {
        return None;
    }
    let next = at + HEAD + len;
    let u16_at = |i: usize| Some(u16::from_le_bytes(body.get(i..i + 2)?.try_into().ok()?));
    let i64_at = |i: usize| Some(i64::from_le_bytes(body.get(i..i + 8)?.try_into().ok()?));
    let record = match *body.first()? {
        LINE if body.len() >= LINE_HEAD => Record::Line {
            flags: body[1],
            level: body[2],
            source: u16_at(3)?,
            ts: i64_at(5)?,
            raw: &body[LINE_HEAD..],
        },
        SOURCE => {
            let mut i = 3;
            let mut text = || {
                let n = u16_at(i)? as usize;
                let s = String::from_utf8_lossy(body.get(i + 2..i + 2 + n)?).into_owned();
                i += 2 + n;
                Some(s)
            };
            let writer = Writer {
                service: text()?,
                name: text()?,
                id: text()?,
            };
            let mut last = [None, None];
            for (k, l) in last.iter_mut().enumerate() {
                let ts = i64_at(i + 12 * k)?;
                let n =
                    u32::from_le_bytes(body.get(i + 12 * k + 8..i + 12 * k + 12)?.try_into().ok()?);
                *l = (ts != i64::MIN).then_some((ts, n));
            }
            Record::Source {
                number: u16_at(1)?,
                writer,
                last,
            }
        }
        _ => return None,
    };
    Some((record, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer() -> Writer {
        Writer {
            service: "web".into(),
            name: "p-web-1".into(),
            id: "abc123".into(),
        }
    }

    fn segment() -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        put_source(&mut out, 0, &writer(), &[Some((5, 2)), None]);
        put_line(&mut out, 1, 4, 0, 7, b"\x1b[31mred\x1b[0m");
        put_line(&mut out, 0, 0, 0, 8, b"");
        out
    }

    fn records(bytes: &[u8]) -> (Vec<Record<'_>>, usize) {
        let mut all = Vec::new();
        let good = scan(bytes, |r| all.push(r));
        (all, good)
    }

    #[test]
    fn records_round_trip() {
        let bytes = segment();
        let (all, good) = records(&bytes);
        assert_eq!(good, bytes.len());
        assert_eq!(
            all,
            [
                Record::Source {
                    number: 0,
                    writer: writer(),
                    last: [Some((5, 2)), None]
                },
                Record::Line {
                    flags: 1,
                    level: 4,
                    source: 0,
                    ts: 7,
                    raw: b"\x1b[31mred\x1b[0m"
                },
                Record::Line {
                    flags: 0,
                    level: 0,
                    source: 0,
                    ts: 8,
                    raw: b""
                },
            ]
        );
        // A line costs its bytes and 21 more.
        let mut one = Vec::new();
        put_line(&mut one, 0, 0, 0, 0, &[b'a'; 100]);
        assert_eq!(one.len(), 121);
    }

    #[test]
    fn a_cut_or_damaged_tail_ends_the_segment_at_the_last_good_record() {
        let bytes = segment();
        let whole = records(&bytes).0.len();
        let last_start = bytes.len() - (HEAD + LINE_HEAD);
        // Cut anywhere inside the last record: the first two stay, the good part ends before it.
        for cut in last_start..bytes.len() {
            let (all, good) = records(&bytes[..cut]);
            assert_eq!((all.len(), good), (whole - 1, last_start), "cut at {cut}");
        }
        // A flipped bit in the first line's text ends the segment before that line.
        let mut flipped = bytes.clone();
        let first_line = bytes.len() - 2 * (HEAD + LINE_HEAD) - b"\x1b[31mred\x1b[0m".len();
        flipped[first_line + HEAD + LINE_HEAD + 3] ^= 0x20;
        let (all, good) = records(&flipped);
        assert_eq!((all.len(), good), (1, first_line));
        // Zeros after the end (a file extended but never written) are damage too.
        let mut padded = bytes.clone();
        padded.extend_from_slice(&[0; 64]);
        assert_eq!(records(&padded).1, bytes.len());
        // Not a segment at all.
        assert_eq!(records(b"something else").1, 0);
    }
}
