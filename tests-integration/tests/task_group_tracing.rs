//! The `tracing` feature (issue 23): each task of a group gets a span with its index and name,
//! entered while it runs, and one event in it for its outcome. Run with
//! `cargo test -p tests-integration --features tracing --test task_group_tracing`.
#![cfg(feature = "tracing")]

mod support;

use groupwait::task_group::TaskGroup;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// What the subscriber saw: each span's fields by id, each event's fields and parent span,
/// and the span current when the task's code logged its own event.
#[derive(Default)]
struct Seen {
    spans: BTreeMap<u64, BTreeMap<String, String>>,
    events: Vec<(Option<u64>, BTreeMap<String, String>)>,
}

#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(field.name().into(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
}

std::thread_local! {
    static CURRENT: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A minimal subscriber recording spans and events (the current span is per thread).
#[derive(Clone, Default)]
struct Recorder {
    seen: Arc<Mutex<Seen>>,
    next: Arc<AtomicU64>,
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut fields = Fields::default();
        span.record(&mut fields);
        fields
            .0
            .insert("span".into(), span.metadata().name().into());
        self.seen.lock().unwrap().spans.insert(id, fields.0);
        Id::from_u64(id)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let parent = match event.parent() {
            Some(id) => Some(id.into_u64()),
            None if event.is_contextual() => CURRENT.with(|c| c.borrow().last().copied()),
            None => None,
        };
        self.seen.lock().unwrap().events.push((parent, fields.0));
    }
    fn enter(&self, span: &Id) {
        CURRENT.with(|c| c.borrow_mut().push(span.into_u64()));
    }
    fn exit(&self, _: &Id) {
        CURRENT.with(|c| c.borrow_mut().pop());
    }
}

fn field<'a>(fields: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    fields.get(name).map(String::as_str)
}

#[test]
fn each_task_has_a_span_with_its_index_and_name_and_an_outcome_event() {
    let recorder = Recorder::default();
    let seen = Arc::clone(&recorder.seen);
    tracing::subscriber::with_default(recorder, || {
        // Future tasks polled on this thread (the subscriber is this thread's default).
        let group = TaskGroup::<u8, &str>::builder().keep_going().build();
        futures::executor::block_on(group.named("ok task").track(async {
            tracing::info!(from = "inside");
            Ok(1)
        }));
        futures::executor::block_on(group.track(async { Err("bad") }));
        let abandoned = group.named(String::from("dropped")).track(async {
            std::future::pending::<()>().await;
            Ok(3)
        });
        let mut abandoned = Box::pin(abandoned);
        let waker = std::task::Waker::noop();
        assert!(abandoned
            .as_mut()
            .poll(&mut std::task::Context::from_waker(waker))
            .is_pending());
        drop(abandoned);
        let never = group.named("never polled").track(async { Ok(4) });
        drop(never);
        futures::executor::block_on(group.track(async { panic!("boom") }));
        assert_eq!(group.wait_all().len(), 5);
        group.cancel();
        let late = TaskGroup::<(), ()>::new();
        late.cancel();
        late.named("late").spawn(|| Ok(()));
    });

    let seen = seen.lock().unwrap();
    let span_of = |index: &str| -> (u64, &BTreeMap<String, String>) {
        let (id, fields) = seen
            .spans
            .iter()
            .find(|(_, f)| field(f, "task.index") == Some(index))
            .unwrap_or_else(|| panic!("no span for task {index}"));
        (*id, fields)
    };
    let outcome_in = |span: u64| -> Vec<&str> {
        seen.events
            .iter()
            .filter(|(parent, f)| *parent == Some(span) && f.contains_key("outcome"))
            .map(|(_, f)| field(f, "outcome").unwrap())
            .collect()
    };
    let expected = [
        ("0", Some("ok task"), "ok"),
        ("1", None, "failed"),
        ("2", Some("dropped"), "abandoned"),
        ("3", Some("never polled"), "cancelled"),
        ("4", None, "panicked"),
    ];
    for (index, name, outcome) in expected {
        let (id, fields) = span_of(index);
        assert_eq!(field(fields, "span"), Some("task"));
        assert_eq!(field(fields, "task.name"), name, "task {index}");
        assert_eq!(outcome_in(id), [outcome], "task {index}");
    }
    assert_eq!(seen.spans.len(), expected.len()); // none for the task cancelled at admission
                                                  // The task's own event is inside its span: the span was entered while it was polled.
    let (ok_span, _) = span_of("0");
    assert!(seen
        .events
        .iter()
        .any(|(parent, f)| *parent == Some(ok_span) && field(f, "from") == Some("inside")));
    // The panic's message is carried.
    let (panic_span, _) = span_of("4");
    assert!(seen
        .events
        .iter()
        .any(|(parent, f)| *parent == Some(panic_span)
            && field(f, "panic.message").is_some_and(|m| m.contains("boom"))));
    // The task cancelled at admission: an event with its index and name, in no task span.
    assert!(seen
        .events
        .iter()
        .any(|(_, f)| field(f, "outcome") == Some("cancelled")
            && field(f, "task.name") == Some("late")));
}
