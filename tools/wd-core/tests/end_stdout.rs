//! wd_core::output::end_stdout: a pipe reader sees the end of the document while the writer is
//! still alive (it used to see it only after the writer's exit), and nothing written afterwards.
//! The writer is this test binary run again as a child (WD_END_STDOUT_CHILD set).

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD: &str = "WD_END_STDOUT_CHILD";

#[test]
fn the_reader_sees_the_end_before_the_writer_exits() {
    if std::env::var_os(CHILD).is_some() {
        // The child: the document, the end, a line that must go nowhere, then a long life.
        let mut out = std::io::stdout().lock();
        out.write_all(b"{\"kind\":\"Doc\"}\n").unwrap();
        drop(out);
        wd_core::output::end_stdout();
        println!("written after the end");
        std::thread::sleep(Duration::from_secs(20));
        return;
    }
    let me = std::env::current_exe().unwrap();
    let mut child = Command::new(me)
        .args([
            "--exact",
            "the_reader_sees_the_end_before_the_writer_exits",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut text = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    let alive = child.try_wait().unwrap().is_none();
    let waited = started.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        alive && waited < Duration::from_secs(15),
        "the end came only with the exit (after {waited:?})"
    );
    // The test harness prints its own lines to stdout before the test runs; the document is
    // the last thing that reaches the pipe.
    assert!(text.ends_with("{\"kind\":\"Doc\"}\n"), "{text:?}");
    assert!(!text.contains("written after the end"), "{text:?}");
}
