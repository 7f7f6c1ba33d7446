//! The history through the hub, on a temporary directory: what is written is read back at
//! the same positions, a damaged tail is cut, the budget drops the oldest segments.

use std::sync::Arc;

use crate::logs::follow::{Origin, Record};
use crate::logs::line::Stream;
use crate::logs::{HistoryStatus, Hub, HubOptions};

fn origin(id: &str, service: &str) -> Arc<Origin> {
    Arc::new(Origin {
        id: id.into(),
        service: service.into(),
        name: format!("p-{service}-1"),
    })
}

fn record(origin: &Arc<Origin>, stream: Stream, ts: i64, text: &str) -> Record {
    Record {
        origin: origin.clone(),
        stream,
        ts,
        text: text.as_bytes().to_vec(),
        partial: false,
        marker: None,
    }
}

fn hub(dir: &std::path::Path, budget: u64) -> (Hub, super::Resume) {
    let hub = Hub::new(HubOptions::default());
    let resumed = hub.attach_history(dir, budget).expect("history opens");
    (hub, resumed.containers)
}

fn texts(hub: &Hub) -> Vec<(u64, String)> {
    hub.read(|s| {
        (s.first()..s.end())
            .map(|p| (p, String::from_utf8_lossy(s.raw(p).unwrap()).into_owned()))
            .collect()
    })
}

#[test]
fn lines_come_back_at_their_positions_and_containers_resume_after_their_last() {
    let dir = tempfile::tempdir().unwrap();
    let (web, db) = (origin("w1", "web"), origin("d1", "db"));
    let (first, resume) = hub(dir.path(), 1 << 30);
    assert!(resume.is_empty());
    for i in 0..1000 {
        let mut batch = vec![
            record(&web, Stream::Stdout, i, &format!("web {i}")),
            record(
                &db,
                Stream::Stderr,
                i / 10,
                &format!("\x1b[31mdb {i}\x1b[0m"),
            ),
        ];
        first.append(&mut batch);
    }
    first.note("web", "Synced 1 file");
    assert!(matches!(
        first.history_status(),
        HistoryStatus::Recording { .. }
    ));
    let written = texts(&first);
    drop(first);

    let (again, resume) = hub(dir.path(), 1 << 30);
    assert_eq!(texts(&again), written);
    assert_eq!(again.read(|s| s.end()), 2001);
    // db wrote ten lines per timestamp: its last had 99 (the tenth of them).
    assert_eq!(resume["w1"], [Some((999, 1)), None]);
    assert_eq!(resume["d1"], [None, Some((99, 10))]);
    let line = again
        .read(|s| crate::logs::query::line(s, 1, None))
        .unwrap();
    assert_eq!((line.text.as_str(), line.stream), ("db 0", Stream::Stderr));
    again.append(&mut vec![record(&web, Stream::Stdout, 1000, "web 1000")]);
    drop(again);
    let (third, _) = hub(dir.path(), 1 << 30);
    assert_eq!(
        texts(&third).last().unwrap(),
        &(2001, "web 1000".to_owned())
    );
}

/// A viewer subscribed before the history opened (the window shows before the engine answers)
/// is told to fetch the lines it brought.
#[test]
fn subscribers_of_a_hub_are_told_of_the_lines_the_history_brings() {
    let dir = tempfile::tempdir().unwrap();
    let web = origin("w1", "web");
    let (first, _) = hub(dir.path(), 1 << 30);
    for i in 0..10 {
        first.append(&mut vec![record(
            &web,
            Stream::Stdout,
            i,
            &format!("line {i}"),
        )]);
    }
    drop(first);
    let again = Hub::new(HubOptions::default());
    let mut viewer = again.subscribe(crate::logs::Filter::default());
    again.attach_history(dir.path(), 1 << 30).unwrap();
    assert_eq!(
        viewer.try_recv().unwrap(),
        crate::logs::Delivery::Missed {
            from: 0,
            to: 10,
            count: 10
        }
    );
}

#[test]
fn a_segment_cut_short_is_cut_at_its_last_good_record() {
    let dir = tempfile::tempdir().unwrap();
    let web = origin("w1", "web");
    let (first, _) = hub(dir.path(), 1 << 30);
    for i in 0..100 {
        first.append(&mut vec![record(
            &web,
            Stream::Stdout,
            i,
            &format!("line {i}"),
        )]);
    }
    drop(first);
    let segment = super::segments::list(dir.path()).unwrap().pop().unwrap();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&segment.path)
        .unwrap();
    file.set_len(segment.bytes - 3).unwrap();

    let (again, resume) = hub(dir.path(), 1 << 30);
    let lines = texts(&again);
    // Lines 0..98 whole, then Berth's line saying what was cut.
    assert_eq!(lines[98], (98, "line 98".to_owned()));
    assert_eq!(lines.len(), 100);
    assert!(lines[99].1.contains("were damaged"), "{:?}", lines[99]);
    assert_eq!(resume["w1"], [Some((98, 1)), None]);
    // The cut is on disk: a third open finds nothing to cut.
    drop(again);
    let (third, _) = hub(dir.path(), 1 << 30);
    assert_eq!(texts(&third).len(), 100);
}

#[test]
fn the_oldest_segments_are_dropped_beyond_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let web = origin("w1", "web");
    let budget = 512 << 10;
    let (first, _) = hub(dir.path(), budget);
    let text = "x".repeat(100);
    for i in 0..20_000 {
        first.append(&mut vec![record(
            &web,
            Stream::Stdout,
            i,
            &format!("{i:06} {text}"),
        )]);
    }
    drop(first);
    let segments = super::segments::list(dir.path()).unwrap();
    let total: u64 = segments.iter().map(|s| s.bytes).sum();
    assert!(total <= budget, "{total} bytes on disk");
    assert!(total > budget / 2, "{total} bytes on disk");
    assert!(segments[0].first > 0, "the oldest were dropped");
    // What is left runs unbroken to the last line.
    let mut next = segments[0].first;
    super::segments::each(dir.path(), |s| {
        assert_eq!(s.first(), next);
        for p in s.first()..s.end() {
            assert!(
                s.text(p)
                    .unwrap()
                    .starts_with(format!("{p:06} ").as_bytes())
            );
        }
        next = s.end();
    })
    .unwrap();
    assert_eq!(next, 20_000);
}

#[test]
fn a_second_hub_on_the_same_history_only_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, _) = hub(dir.path(), 1 << 30);
    let (reader, _) = hub(dir.path(), 1 << 30);
    assert!(matches!(
        writer.history_status(),
        HistoryStatus::Recording { .. }
    ));
    assert!(matches!(
        reader.history_status(),
        HistoryStatus::ReadOnly { .. }
    ));
}

#[test]
fn lines_on_disk_leave_memory_beyond_the_resident_bytes_and_read_back_from_there() {
    let dir = tempfile::tempdir().unwrap();
    let web = origin("w1", "web");
    let (hub, _) = hub(dir.path(), 1 << 30);
    let line = |i: i64| format!("line {i:06} {}", "x".repeat(100));
    for batch in 0..60 {
        let mut records = (batch * 1000..(batch + 1) * 1000)
            .map(|i| record(&web, Stream::Stdout, i, &line(i)))
            .collect();
        hub.append(&mut records);
    }
    // Each append leaves in memory what the writer has not written yet and the newest
    // RESIDENT bytes: once it has written all, one more line is enough.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut next = 60_000;
    while hub.read(|s| s.bytes()) > super::RESIDENT + (1 << 20) {
        assert!(
            std::time::Instant::now() < deadline,
            "memory kept {} B",
            hub.read(|s| s.bytes())
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        hub.append(&mut vec![record(&web, Stream::Stdout, next, &line(next))]);
        next += 1;
    }
    let (first, end) = hub.read(|s| (s.first(), s.end()));
    assert!(
        first > 40_000 && end == next as u64,
        "memory holds {first}..{end}"
    );
    // Every line that left memory reads back from the files, at its position.
    let mut reader = super::reader::Reader::new(dir.path());
    for pos in (0..first).step_by(997).chain([first - 1]) {
        let segment = reader.segment(pos).unwrap().expect("a stored line");
        assert_eq!(
            segment.text(pos).unwrap(),
            line(pos as i64).as_bytes(),
            "line {pos}"
        );
    }
}
