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

/// Builds `tag` from the test image plus `lines` of Dockerfile, with `files` in its context.
fn build(tag: &str, lines: &str, files: &[(&str, String)]) {
    let context = std::env::temp_dir().join(format!(
        "berth-test-pull-{}-{}",
        std::process::id(),
        tag.replace(['/', ':'], "-")
    ));
    std::fs::create_dir_all(&context).unwrap();
    for (name, content) in files {
        std::fs::write(context.join(name), content).unwrap();
    }
    std::fs::write(
        context.join("Dockerfile"),
        format!("FROM berth-test/busybox:1\n{lines}\n"),
    )
    .unwrap();
    docker(&["build", "-q", "-t", tag, &context.display().to_string()]);
    let _ = std::fs::remove_dir_all(&context);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_image_is_pulled_with_per_layer_progress() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let run = format!("{}-{}", std::process::id(), now.as_nanos());
    // An engine reports a layer as `Already exists` only if it knows that layer's registry
    // digest, which it records when it pulls the layer: the test image was loaded, not pulled.
    // So first the base layer alone is pulled, as an image the engine lacks (a label makes its
    // configuration new).
    let base = format!("berth-test/pull-base-{}:1", std::process::id());
    build(&base, &format!("LABEL berth.test.run=\"{run}\""), &[]);
    let base_registry = Registry::serving(&base, "berth-test/base", "1").await;
    let _base_pulled = Pulled(base_registry.image.clone());
    docker(&["rmi", &base]);
    docker(&["pull", "-q", &base_registry.image]);

    // An image this engine does not have: a unique layer over the test image, built, served,
    // then removed here so the pull must fetch that layer.
    let source = format!("berth-test/pull-source-{}:1", std::process::id());
    // Big enough for the engine to report bytes as it goes.
    let unique = format!("{run}\n").repeat(64 * 1024);
    build(&source, "COPY unique /unique", &[("unique", unique)]);
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
