//! Pulling: a missing image is pulled with per-layer progress, from a registry on 127.0.0.1.

use std::process::Command;

use berth_engine::{Progress, ProgressEvent, UpOptions};
use berth_tests::docker;
use berth_tests::registry::Registry;
use berth_tests::stacks::TestStack;

/// Removes the pulled image when dropped.
struct Pulled(String);

impl Drop for Pulled {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rmi", "-f", &self.0]).output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_image_is_pulled_with_per_layer_progress() {
    // An image this engine does not have: a unique layer over the test image, built, served,
    // then removed here so the pull must fetch that layer.
    let source = format!("berth-test/pull-source-{}:1", std::process::id());
    let context = std::env::temp_dir().join(format!("berth-test-pull-{}", std::process::id()));
    std::fs::create_dir_all(&context).unwrap();
    // Big enough for the engine to report bytes as it goes.
    let unique = format!("{:?}\n", std::time::SystemTime::now()).repeat(64 * 1024);
    std::fs::write(context.join("unique"), unique).unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        "FROM berth-test/busybox:1\nCOPY unique /unique\n",
    )
    .unwrap();
    docker(&["build", "-q", "-t", &source, &context.display().to_string()]);
    let _ = std::fs::remove_dir_all(&context);
    let registry = Registry::serving(&source, "berth-test/pulled", "1").await;
    let _pulled = Pulled(registry.image.clone());
    docker(&["rmi", &source]);
    let yaml = format!(
        "services:\n  app:\n    image: {}\n    command: [sleep, '600']\n",
        registry.image
    );
    let t = TestStack::new("pull", &yaml).await;
    let (progress, mut rx) = Progress::channel();
    t.stack
        .up(&UpOptions::default(), &progress)
        .await
        .expect("up pulls the image");
    drop(progress);
    let mut layers = Vec::new();
    let mut pulled = false;
    let mut counted = false;
    while let Some(event) = rx.recv().await {
        match event {
            ProgressEvent::Layer {
                status, current, ..
            } => {
                counted |= current.is_some_and(|c| c > 0);
                layers.push(status);
            }
            ProgressEvent::Resource { name, status, .. } if name == registry.image => {
                pulled |= status == "Pulled";
            }
            _ => {}
        }
    }
    assert!(pulled, "no Pulled event");
    for status in ["Already exists", "Pulling fs layer", "Pull complete"] {
        assert!(
            layers.iter().any(|s| s == status),
            "no {status}: {layers:?}"
        );
    }
    assert!(counted, "no layer progress in bytes");
    assert!(t.containers().await[0].running());

    // `pull` pulls again (policy always), through berthctl too.
    let out = berth_tests::berthctl(&t.name, &t.file(), &["pull"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Pulled"));
}
