//! Stories of who may use Gantry: API tokens, users with argon2id passwords, sessions —
//! and secrets that never show up where they should not.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use gantry_core::Secret;
use gantry_store::{EventFilter, NewToken, NewUser, Role, StoreError};

use crate::harness::Shared;

crate::stories!(tokens_create_verify_revoke, users_and_sessions);

async fn tokens_create_verify_revoke(store: Shared) {
    let created = store
        .create_token(NewToken {
            name: "ci-bot".into(),
            role: Role::Developer,
            expires_at: None,
            created_by: Some("ada".into()),
        })
        .await
        .expect("create");
    let value = created.token.expose().to_string();
    assert!(value.starts_with("gty_") && value.len() == 68, "{value}");
    assert!(value.starts_with(&created.info.prefix));

    // Debug output never shows the token.
    let debug = format!("{created:?} {:?}", created.info);
    assert!(!debug.contains(&value[4..]), "{debug}");
    assert!(debug.contains("***"), "{debug}");

    let info = store
        .verify_token(&value)
        .await
        .expect("verify")
        .expect("valid token");
    assert_eq!(
        (info.id, info.name.as_str(), info.role),
        (created.info.id, "ci-bot", Role::Developer)
    );
    assert!(info.last_used_at.is_some());

    // Wrong, malformed and near-miss tokens are rejected.
    let mut near = value.clone();
    let last = if near.ends_with('0') { "1" } else { "0" };
    near.replace_range(near.len() - 1.., last);
    for wrong in [
        near.as_str(),
        "gty_",
        "",
        "Bearer x",
        &value[..value.len() - 1],
        &value.to_uppercase(),
    ] {
        assert!(
            store.verify_token(wrong).await.expect("verify").is_none(),
            "{wrong} must be rejected"
        );
    }

    let second = store
        .create_token(NewToken {
            name: "expired".into(),
            role: Role::Viewer,
            expires_at: Some(Timestamp::now() - SignedDuration::from_secs(1)),
            created_by: None,
        })
        .await
        .expect("create");
    assert_ne!(second.token.expose(), value);
    assert!(
        store
            .verify_token(second.token.expose())
            .await
            .expect("verify")
            .is_none(),
        "expired"
    );

    assert!(
        store
            .revoke_token(created.info.id, Some("ada"))
            .await
            .expect("revoke")
    );
    assert!(
        !store
            .revoke_token(created.info.id, Some("ada"))
            .await
            .expect("revoke twice")
    );
    assert!(
        store.verify_token(&value).await.expect("verify").is_none(),
        "revoked"
    );
    assert!(matches!(
        store.revoke_token(gantry_store::TokenId(4242), None).await,
        Err(StoreError::NotFound { .. })
    ));
    let listed = store.list_tokens().await.expect("list");
    assert_eq!(listed.len(), 2);
    assert!(listed[0].revoked_at.is_some());

    let events = store
        .events(&EventFilter {
            kind_prefix: Some("token.".into()),
            ..Default::default()
        })
        .await
        .expect("events");
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        vec!["token.created", "token.created", "token.revoked"]
    );
    assert_eq!(events[0].actor.as_deref(), Some("ada"));
    let all =
        serde_json::to_string(&events.iter().map(|e| &e.data).collect::<Vec<_>>()).expect("json");
    assert!(!all.contains(&value[4..]), "no event holds the token");
    assert!(!all.contains(second.token.expose()));
}

async fn users_and_sessions(store: Shared) {
    let password = Secret::new("correct horse battery");
    let user = store
        .create_user(
            NewUser {
                username: "ada".into(),
                password: password.clone(),
                role: Role::Admin,
            },
            None,
        )
        .await
        .expect("create user");
    assert_eq!(user.role, Role::Admin);
    let debug = format!(
        "{:?}",
        NewUser {
            username: "x".into(),
            password: password.clone(),
            role: Role::Viewer
        }
    );
    assert!(!debug.contains("horse"), "{debug}");

    let dup = store
        .create_user(
            NewUser {
                username: "ada".into(),
                password: password.clone(),
                role: Role::Viewer,
            },
            None,
        )
        .await
        .expect_err("duplicate");
    assert!(matches!(dup, StoreError::Conflict(_)), "{dup:?}");
    assert!(matches!(
        store
            .create_user(
                NewUser {
                    username: "bob".into(),
                    password: Secret::new("short"),
                    role: Role::Viewer
                },
                None
            )
            .await,
        Err(StoreError::Invalid(_))
    ));

    assert_eq!(
        store
            .verify_password("ada", &password)
            .await
            .expect("verify")
            .map(|u| u.id),
        Some(user.id)
    );
    assert!(
        store
            .verify_password("ada", &Secret::new("wrong horse battery"))
            .await
            .expect("verify")
            .is_none()
    );
    assert!(
        store
            .verify_password("nobody", &password)
            .await
            .expect("verify")
            .is_none()
    );

    let created = store
        .create_session(user.id, Duration::from_secs(3600))
        .await
        .expect("session");
    let cookie = created.token.expose().to_string();
    let debug = format!("{created:?}");
    assert!(
        !debug.contains(&cookie) && !debug.contains(created.session.csrf_token.expose()),
        "{debug}"
    );
    let session = store
        .get_session(&cookie)
        .await
        .expect("get")
        .expect("live session");
    assert_eq!(session.user.username, "ada");
    assert_eq!(session.csrf_token, created.session.csrf_token);
    assert!(
        store
            .get_session("not-a-session")
            .await
            .expect("get")
            .is_none()
    );

    let short = store
        .create_session(user.id, Duration::from_millis(1))
        .await
        .expect("session");
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(
        store
            .get_session(short.token.expose())
            .await
            .expect("get")
            .is_none(),
        "expired"
    );
    assert_eq!(
        store
            .delete_expired_sessions(Timestamp::now())
            .await
            .expect("purge"),
        1
    );

    assert!(store.delete_session(&cookie).await.expect("logout"));
    assert!(!store.delete_session(&cookie).await.expect("logout twice"));
    assert!(store.get_session(&cookie).await.expect("get").is_none());

    // A new password works, the old one does not, and it ends existing sessions.
    let again = store
        .create_session(user.id, Duration::from_secs(3600))
        .await
        .expect("session");
    let new_password = Secret::new("another long passphrase");
    store
        .set_password("ada", &new_password, Some("ada"))
        .await
        .expect("set password");
    assert!(
        store
            .verify_password("ada", &password)
            .await
            .expect("verify")
            .is_none()
    );
    assert!(
        store
            .verify_password("ada", &new_password)
            .await
            .expect("verify")
            .is_some()
    );
    assert!(
        store
            .get_session(again.token.expose())
            .await
            .expect("get")
            .is_none()
    );
    assert!(matches!(
        store.set_password("nobody", &new_password, None).await,
        Err(StoreError::NotFound { .. })
    ));

    assert_eq!(store.list_users().await.expect("list").len(), 1);
    assert!(
        store
            .delete_user("ada", Some("root"))
            .await
            .expect("delete")
    );
    assert!(
        store
            .verify_password("ada", &new_password)
            .await
            .expect("verify")
            .is_none()
    );

    let events = store
        .events(&EventFilter {
            kind_prefix: Some("user.".into()),
            ..Default::default()
        })
        .await
        .expect("events");
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        vec!["user.created", "user.password_changed", "user.deleted"]
    );
    let sessions = store
        .events(&EventFilter {
            kind_prefix: Some("session.".into()),
            ..Default::default()
        })
        .await
        .expect("events");
    assert_eq!(
        sessions
            .iter()
            .filter(|e| e.kind == "session.created")
            .count(),
        3
    );
    assert_eq!(
        sessions
            .iter()
            .filter(|e| e.kind == "session.deleted")
            .count(),
        1
    );
    let all = serde_json::to_string(&events).expect("json");
    assert!(
        !all.contains("horse") && !all.contains("argon2"),
        "no password or hash in events"
    );
}
