//! The `hash_tree` demo run as a user runs it: its summary with `--fail-fast` on a tree with
//! an unreadable file, its bar and summary on a terminal, its `--limit` errors.
//!
//! The example binary is the one `cargo test` builds next to this test
//! (`target/<profile>/examples/hash_tree`). An unreadable file is a file of mode 000; root
//! reads it anyway, so as root the demo is started through `setpriv` without the two
//! capabilities that let root ignore file permissions. The terminal is a pseudo-terminal made
//! by `script` (util-linux). Every run is bounded: a demo still running after a minute is
//! killed and the test fails.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
#[path = "support/temp_dir.rs"]
mod temp_dir;

use temp_dir::TempDir;

/// How long one run of the demo may take.
const RUN_BOUND: Duration = Duration::from_secs(60);

/// The exit status of the demo when something was not hashed.
const FAILURE: i32 = 2;

fn demo() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/hash_tree_report-<hash>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary is in target/<profile>/deps");
    let path = profile_dir.join("examples").join("hash_tree");
    assert!(
        path.exists(),
        "example binary {} not built: run the tests with `cargo test -p examples`, which \
         builds the examples",
        path.display()
    );
    path
}

/// Runs `command` to its end, failing the test if it takes longer than [`RUN_BOUND`].
fn run(mut command: Command) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {command:?}: {error}"));
    // The pipes are drained on threads, so a full pipe cannot stall the child.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let err = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        bytes
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the demo") {
            break status;
        }
        if started.elapsed() > RUN_BOUND {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} still running after {RUN_BOUND:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// The demo on `args`, as a process that cannot read `unreadable` (a file of mode 000): as
/// is when this process cannot read it either, else (root) through `setpriv` without
/// CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH.
fn demo_that_cannot_read(unreadable: &Path, args: &[&str]) -> Command {
    let mut command = if std::fs::File::open(unreadable).is_ok() {
        let mut command = Command::new("setpriv");
        command
            .arg("--bounding-set=-dac_override,-dac_read_search")
            .arg("--")
            .arg(demo());
        command
    } else {
        Command::new(demo())
    };
    command.args(args);
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `--fail-fast` with one task at a time over 31 files, the first of which (in name order)
/// cannot be opened, next to a directory that cannot be listed: the summary lists the file's
/// failure first, as the cause, then the directory; says that one file failed; and counts the
/// 30 cancelled files on a line of their own, listing none of them.
#[test]
fn fail_fast_summary_lists_the_cause_first_and_counts_cancelled_files_apart() {
    let tree = TempDir::new("fail-fast");
    let locked = tree.0.join("b-locked");
    std::fs::create_dir(&locked).expect("create a directory");
    std::fs::write(locked.join("inside.bin"), b"hidden").expect("write a file");
    let unreadable = tree.0.join("m-unreadable.bin");
    std::fs::write(&unreadable, b"secret").expect("write a file");
    for i in 0..30 {
        std::fs::write(tree.0.join(format!("n{i:03}.bin")), [i as u8; 100]).expect("write");
    }
    for path in [&locked, &unreadable] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    }
    let root = tree.0.to_str().expect("a UTF-8 temporary path");
    let output = run(demo_that_cannot_read(
        &unreadable,
        &["--fail-fast", "--limit", "1", root],
    ));
    // Readable again, so that the temporary tree can be removed.
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(FAILURE), "{stdout}\n{stderr}");

    let line = |label: &str| {
        stdout
            .lines()
            .find(|line| line.starts_with(label))
            .unwrap_or_else(|| panic!("no `{label}` line in:\n{stdout}\nstderr:\n{stderr}"))
            .to_string()
    };
    assert_eq!(
        line("failed:"),
        "failed:    1 file, and 1 directory not listed",
        "{stdout}"
    );
    assert_eq!(
        line("cancelled:"),
        "cancelled: 30 files not hashed, after the first failure (--fail-fast)",
        "{stdout}"
    );
    assert!(
        line("hashed:").starts_with("hashed:    0 files"),
        "{stdout}"
    );

    // The failures: the cause first, then the directory; no cancelled file among them.
    let listed: Vec<&str> = stdout
        .lines()
        .skip_while(|line| !line.starts_with("failures:"))
        .skip(1)
        .collect();
    assert_eq!(listed.len(), 2, "{stdout}");
    assert!(
        listed[0].starts_with("  m-unreadable.bin: cannot open: ")
            && listed[0].ends_with("(the first failure: it cancelled the rest)"),
        "{stdout}"
    );
    assert!(
        listed[1].starts_with("  b-locked: cannot list: "),
        "{stdout}"
    );
    assert!(
        !stdout.contains("n000.bin"),
        "a cancelled file is listed:\n{stdout}"
    );
}

/// On a terminal, the finished bar keeps its line: the summary starts on a line of its own.
/// With `--limit`, the bar's last draw shows the bytes hashed.
#[test]
fn summary_starts_on_its_own_line_after_the_bar() {
    let tree = TempDir::new("terminal");
    for i in 0..5 {
        std::fs::write(tree.0.join(format!("f{i}.bin")), vec![1_u8; 2048]).expect("write");
    }
    let root = tree.0.to_str().expect("a UTF-8 temporary path");
    let demo = demo();
    let demo = demo.to_str().expect("a UTF-8 target path");
    for args in [vec![root], vec!["--limit", "2", root]] {
        // `script` runs the command on a pseudo-terminal and copies what it shows to stdout.
        let shell_command = std::iter::once(demo)
            .chain(args.iter().copied())
            .map(|word| format!("'{word}'"))
            .collect::<Vec<_>>()
            .join(" ");
        let mut command = Command::new("script");
        command.args(["-q", "-e", "-c", &shell_command, "/dev/null"]);
        let output = run(command);
        let shown = text(&output.stdout);
        assert!(output.status.success(), "{shown}\n{}", text(&output.stderr));
        let bar_end = shown
            .rfind("5/5 files, 10.00 KiB")
            .unwrap_or_else(|| panic!("no finished bar in {shown:?}"));
        let summary = shown[bar_end..]
            .find("path:")
            .map(|at| bar_end + at)
            .unwrap_or_else(|| panic!("no summary after the bar in {shown:?}"));
        let before = &shown[..summary];
        assert!(
            before.ends_with('\n'),
            "{args:?}: the summary shares the bar's line: {:?}",
            &shown[bar_end..(summary + 5).min(shown.len())]
        );
    }
}

#[test]
fn limit_errors_repeat_the_value_given() {
    for (value, expected) in [
        (
            "abc",
            "--limit needs a number above 0, not `abc`".to_string(),
        ),
        (
            "99999999999999999999",
            format!(
                "--limit 99999999999999999999 is too large: at most {}",
                usize::MAX
            ),
        ),
    ] {
        let mut command = Command::new(demo());
        command.args(["--limit", value]);
        let output = run(command);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(FAILURE), "{stderr}");
        assert_eq!(
            stderr.lines().next(),
            Some(format!("hash_tree: {expected}").as_str()),
            "{stderr}"
        );
    }
}
