//! gantry-store's story suite: every story is written once against the `Store` trait and
//! runs twice, on a fresh SQLite file and on a fresh PostgreSQL database (started by
//! scripts/start-postgres.sh unless GANTRY_TEST_DATABASE_URL names one).

mod harness;

mod agents;
mod auth;
mod concurrency;
mod control;
mod deployments;
mod flow;
mod infra;
mod leases;
mod log;
mod reads;

/// Opening checks that need no database, and the URL forms.
mod open {
    use gantry_store::StoreError;

    #[tokio::test]
    async fn unknown_schemes_and_unreachable_servers_are_clear_errors() {
        let err = gantry_store::open("mysql://root:hunter2@localhost/gantry")
            .await
            .expect_err("mysql");
        let text = err.to_string();
        assert!(matches!(err, StoreError::InvalidUrl { .. }));
        assert!(
            text.contains("unsupported scheme 'mysql'") && !text.contains("hunter2"),
            "{text}"
        );
        // Nothing listens on port 1.
        let err = gantry_store::open("postgres://gantry:hunter2@127.0.0.1:1/gantry")
            .await
            .expect_err("closed port");
        assert!(
            matches!(
                err,
                StoreError::Open {
                    backend: "postgres",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(!format!("{err} {err:?}").contains("hunter2"));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn postgres_requiring_tls_from_a_plain_server_is_a_clear_error() {
        let url = tokio::task::spawn_blocking(crate::harness::postgres_admin_url)
            .await
            .expect("admin url");
        let err = gantry_store::open(&format!(
            "{url}{}sslmode=require",
            if url.contains('?') { '&' } else { '?' }
        ))
        .await
        .expect_err("no TLS on the test server");
        assert!(
            matches!(
                err,
                StoreError::Open {
                    backend: "postgres",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().to_lowercase().contains("tls"), "{err}");
    }

    #[tokio::test]
    async fn sqlite_forms_open_and_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("nested/dir/gantry.db");
        let store = gantry_store::open(path.to_str().expect("utf-8 path"))
            .await
            .expect("plain path");
        let enq = store
            .enqueue_run(crate::harness::new_run("web", crate::harness::THREE_JOBS))
            .await
            .expect("enqueue");
        assert_eq!(format!("{store:?}"), "SqlStore { backend: \"sqlite\" }");
        store.close().await;
        // Reopening runs the migrations again (a no-op) and finds the data.
        let again = gantry_store::open(&format!("sqlite://{}", path.display()))
            .await
            .expect("reopen");
        assert!(again.get_run(enq.run_id).await.expect("get").is_some());
        again.close().await;

        let memory = gantry_store::open("sqlite::memory:").await.expect("memory");
        memory
            .enqueue_run(crate::harness::new_run("web", crate::harness::THREE_JOBS))
            .await
            .expect("enqueue");
        assert_eq!(memory.queue_depth().await.expect("depth"), 1);
    }
}
