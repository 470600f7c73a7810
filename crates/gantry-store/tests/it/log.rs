//! Stories of the event log as a feed, and of webhook deliveries arriving twice.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;

use gantry_store::{EventFilter, EventId, NewDelivery, NewEvent, RunId, StoreError};

use crate::harness::Shared;

crate::stories!(
    webhook_deliveries_are_deduplicated,
    appended_events_filter_and_page,
    feed_after_id_misses_nothing_under_concurrent_writers
);

fn delivery(forge: &str, id: &str) -> NewDelivery {
    NewDelivery {
        forge: forge.into(),
        delivery_id: id.into(),
        event: "push".into(),
        project: Some("web".into()),
    }
}

async fn webhook_deliveries_are_deduplicated(store: Shared) {
    assert!(
        store
            .record_delivery(delivery("github", "d-1"))
            .await
            .expect("record")
    );
    assert!(
        !store
            .record_delivery(delivery("github", "d-1"))
            .await
            .expect("record again"),
        "a retry is a duplicate"
    );
    assert!(
        store
            .record_delivery(delivery("gitlab", "d-1"))
            .await
            .expect("other forge"),
        "ids are per forge"
    );
    assert!(matches!(
        store.record_delivery(delivery("github", " ")).await,
        Err(StoreError::Invalid(_))
    ));
    let events = store
        .events(&EventFilter {
            kind_prefix: Some("trigger.webhook".into()),
            ..Default::default()
        })
        .await
        .expect("events");
    assert_eq!(events.len(), 2, "one event per accepted delivery");
    assert_eq!(events[0].project.as_deref(), Some("web"));
    assert_eq!(
        events[0].data,
        json!({ "forge": "github", "delivery_id": "d-1", "event": "push" })
    );

    // Pruned deliveries may be delivered again (forges gave up retrying long before).
    let later = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(1);
    assert_eq!(store.prune_deliveries(later).await.expect("prune"), 2);
    assert!(
        store
            .record_delivery(delivery("github", "d-1"))
            .await
            .expect("record after prune")
    );
}

async fn appended_events_filter_and_page(store: Shared) {
    for i in 0..5 {
        let event = NewEvent::new("deploy.finished")
            .project("web")
            .run(RunId(7))
            .actor(Some("ada"))
            .data(json!({ "service": "web", "n": i }));
        store.append_event(event).await.expect("append");
    }
    store
        .append_event(NewEvent::new("run_note").project("api"))
        .await
        .expect("append");
    assert!(matches!(
        store.append_event(NewEvent::new("Deploy Finished")).await,
        Err(StoreError::Invalid(_))
    ));

    let all = store.events(&EventFilter::default()).await.expect("events");
    assert_eq!(all.len(), 6);
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(all[0].data["service"], "web");
    assert_eq!(all[0].run_id, Some(RunId(7)));

    let web = store
        .events(&EventFilter {
            project: Some("web".into()),
            ..Default::default()
        })
        .await
        .expect("events");
    assert_eq!(web.len(), 5);
    // `_` is not a wildcard and case matters.
    let prefix = |p: &str| EventFilter {
        kind_prefix: Some(p.into()),
        ..Default::default()
    };
    assert_eq!(
        store.events(&prefix("run_")).await.expect("events").len(),
        1
    );
    assert_eq!(
        store.events(&prefix("run.")).await.expect("events").len(),
        0
    );
    assert_eq!(
        store
            .events(&prefix("DEPLOY."))
            .await
            .expect("events")
            .len(),
        0
    );
    assert_eq!(
        store
            .events(&prefix("deploy."))
            .await
            .expect("events")
            .len(),
        5
    );

    let after = store
        .events(&EventFilter {
            after_id: Some(all[2].id),
            ..Default::default()
        })
        .await
        .expect("events");
    assert_eq!(
        after.iter().map(|e| e.id).collect::<Vec<_>>(),
        all[3..].iter().map(|e| e.id).collect::<Vec<_>>()
    );
    let latest = store
        .events(&EventFilter {
            newest_first: true,
            limit: 2,
            ..Default::default()
        })
        .await
        .expect("events");
    assert_eq!(
        latest.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![all[5].id, all[4].id]
    );
    let older = store
        .events(&EventFilter {
            newest_first: true,
            limit: 2,
            before_id: Some(latest[1].id),
            ..Default::default()
        })
        .await
        .expect("events");
    assert_eq!(
        older.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![all[3].id, all[2].id]
    );
    let job = store
        .events(&EventFilter {
            job_id: Some(gantry_store::JobId(1)),
            ..Default::default()
        })
        .await
        .expect("events");
    assert!(job.is_empty());
}

/// A feed that polls "events after my cursor" must see every event exactly once, even
/// while many transactions append concurrently (ids must become visible in order).
async fn feed_after_id_misses_nothing_under_concurrent_writers(store: Shared) {
    const WRITERS: usize = 8;
    const EACH: usize = 25;
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..EACH {
                let event = NewEvent::new("feed.test").data(json!({ "writer": w, "i": i }));
                store.append_event(event).await.expect("append");
            }
        }));
    }
    let writers_done = Arc::new(AtomicBool::new(false));
    let reader = {
        let store = store.clone();
        let writers_done = writers_done.clone();
        tokio::spawn(async move {
            let mut cursor: Option<EventId> = None;
            let mut seen = Vec::new();
            loop {
                // Read the flag before polling: an empty page after the writers finished
                // means the feed has caught up with everything.
                let done = writers_done.load(Ordering::SeqCst);
                let page = store
                    .events(&EventFilter {
                        after_id: cursor,
                        limit: 7,
                        ..Default::default()
                    })
                    .await
                    .expect("feed");
                match page.last() {
                    Some(last) => cursor = Some(last.id),
                    None if done => break,
                    None => tokio::time::sleep(Duration::from_millis(1)).await,
                }
                seen.extend(page.into_iter().map(|e| e.id));
            }
            seen
        })
    };
    for w in writers {
        w.await.expect("writer");
    }
    writers_done.store(true, Ordering::SeqCst);
    let seen = reader.await.expect("reader");
    let all: Vec<EventId> = store
        .events(&EventFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .expect("events")
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(all.len(), WRITERS * EACH);
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "the feed moved forward only"
    );
    let all: BTreeSet<EventId> = all.into_iter().collect();
    let seen_set: BTreeSet<EventId> = seen.iter().copied().collect();
    let missed: Vec<&EventId> = all.difference(&seen_set).collect();
    assert!(missed.is_empty(), "the feed missed events {missed:?}");
    assert_eq!(seen.len(), all.len(), "and saw none twice");
}
