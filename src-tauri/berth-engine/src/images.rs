//! Making sure each service's image is on the engine: pull with per-layer progress, or build
//! through the Engine API's build endpoint with its output streamed.

use std::collections::HashMap;

use berth_compose::Project;
use bollard::query_parameters::{BuildImageOptions, CreateImageOptions};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::error::StackError;
use crate::names;
use crate::progress::{Progress, ProgressEvent, Resource};
use crate::{Engine, context};

/// When to pull, as `docker compose up --pull` takes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PullPolicy {
    Always,
    /// Pull only images the engine does not have (compose's default).
    #[default]
    Missing,
    Never,
}

impl PullPolicy {
    fn of_service(value: Option<&str>) -> Option<PullPolicy> {
        match value? {
            "always" => Some(PullPolicy::Always),
            "never" => Some(PullPolicy::Never),
            "missing" | "if_not_present" => Some(PullPolicy::Missing),
            _ => None,
        }
    }
}

/// The IDs of the images the services of `project` run, those the engine has, looked up once
/// per image however many services share it.
pub(crate) async fn present(engine: &Engine, project: &Project) -> HashMap<String, String> {
    let images: std::collections::BTreeSet<String> = project
        .services
        .keys()
        .map(|s| names::image_name(project, s))
        .collect();
    let found = futures_util::future::join_all(images.into_iter().map(|image| async move {
        let id = image_id(engine, &image).await;
        Some((image, id?))
    }))
    .await;
    found.into_iter().flatten().collect()
}

/// The ID of the image the service's containers run, pulling or building it first as needed.
/// `present` is its ID if the engine already has it. `pull` overrides the service's
/// `pull_policy` when given; `build` forces a build.
pub(crate) async fn ensure(
    engine: &Engine,
    project: &Project,
    service_name: &str,
    present: Option<&String>,
    pull: Option<PullPolicy>,
    build: bool,
    progress: &Progress,
) -> Result<String, StackError> {
    let service = &project.services[service_name];
    let image = names::image_name(project, service_name);
    let service_policy = service.pull_policy.as_deref();
    let mut fetched = false;
    if service.build.is_some() && (build || service_policy == Some("build") || present.is_none()) {
        build_image(engine, project, service_name, progress).await?;
        fetched = true;
    } else if service.build.is_none() || pull == Some(PullPolicy::Always) {
        let policy = pull
            .or_else(|| PullPolicy::of_service(service_policy))
            .unwrap_or_default();
        let must_pull = match policy {
            PullPolicy::Always => true,
            PullPolicy::Missing => present.is_none(),
            PullPolicy::Never => false,
        };
        if must_pull {
            pull_image(engine, service_name, &image, progress).await?;
            fetched = true;
        }
    }
    let id = match present {
        Some(id) if !fetched => Some(id.clone()),
        _ => image_id(engine, &image).await,
    };
    id.ok_or_else(|| StackError::ImageMissing {
        service: service_name.to_owned(),
        image: image.clone(),
        cause: "the pull policy is never and the image is not present".into(),
    })
}

async fn image_id(engine: &Engine, image: &str) -> Option<String> {
    engine.docker().inspect_image(image).await.ok()?.id
}

/// `name[:tag|@digest]` as the pull endpoint wants it: repository and tag apart, `latest` when
/// none is given (an empty tag would pull every tag).
fn split_reference(image: &str) -> (&str, &str) {
    if let Some((repo, digest)) = image.split_once('@') {
        return (repo, digest);
    }
    match image.rfind(':') {
        Some(i) if !image[i..].contains('/') => (&image[..i], &image[i + 1..]),
        _ => (image, "latest"),
    }
}

/// Pulls `image`, reporting each layer's progress.
pub(crate) async fn pull_image(
    engine: &Engine,
    service: &str,
    image: &str,
    progress: &Progress,
) -> Result<(), StackError> {
    progress.resource(Resource::Image, image, "Pulling");
    let (repo, tag) = split_reference(image);
    let options = CreateImageOptions {
        from_image: Some(repo.to_owned()),
        tag: Some(tag.to_owned()),
        ..Default::default()
    };
    let mut stream = engine.docker().create_image(Some(options), None, None);
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| StackError::ImageMissing {
            service: service.to_owned(),
            image: image.to_owned(),
            cause: crate::error::describe(&e),
        })?;
        if let Some(err) = info.error_detail.and_then(|d| d.message) {
            return Err(StackError::ImageMissing {
                service: service.to_owned(),
                image: image.to_owned(),
                cause: err,
            });
        }
        if let (Some(layer), Some(status)) = (info.id, info.status) {
            let detail = info.progress_detail.unwrap_or_default();
            progress.send(ProgressEvent::Layer {
                image: image.to_owned(),
                layer,
                status,
                current: detail.current,
                total: detail.total,
            });
        }
    }
    progress.resource(Resource::Image, image, "Pulled");
    Ok(())
}

/// Builds the service's image from its context, streaming the build's output.
pub(crate) async fn build_image(
    engine: &Engine,
    project: &Project,
    service_name: &str,
    progress: &Progress,
) -> Result<(), StackError> {
    let service = &project.services[service_name];
    let build = service.build.clone().unwrap_or_default();
    let image = names::image_name(project, service_name);
    let failed = |message: String| StackError::Build {
        service: service_name.to_owned(),
        image: image.clone(),
        message,
    };
    let context = project
        .working_dir
        .join(build.context.as_deref().unwrap_or("."));
    progress.resource(Resource::Image, &image, "Building");
    for key in ["secrets", "ssh"] {
        if build.extra.contains_key(key) {
            progress.warn(format!(
                "service {service_name}: build `{key}` needs BuildKit, which this engine's classic \
                 builder (API 1.41) lacks: they are not passed to the build; pass what the build \
                 needs as build args or in the context instead"
            ));
        }
    }
    let dockerfile = build
        .dockerfile
        .clone()
        .unwrap_or_else(|| "Dockerfile".into());
    let kept = dockerfile.clone();
    let tar = tokio::task::spawn_blocking(move || context::archive(&context, &kept))
        .await
        .map_err(|e| failed(e.to_string()))?
        .map_err(|e| failed(format!("cannot read the build context: {e}")))?;
    let extra = |key: &str| build.extra.get(key);
    let strings = |key: &str| -> Option<Vec<String>> {
        Some(
            extra(key)?
                .as_array()?
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        )
    };
    let options = BuildImageOptions {
        dockerfile,
        t: Some(image.clone()),
        cachefrom: strings("cache_from"),
        labels: extra("labels").and_then(|l| {
            Some(
                l.as_object()?
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect(),
            )
        }),
        networkmode: extra("network").and_then(|n| n.as_str()).map(str::to_owned),
        extrahosts: strings("extra_hosts").map(|h| h.join(",")),
        nocache: extra("no_cache").and_then(|n| n.as_bool()).unwrap_or(false),
        pull: extra("pull")
            .and_then(|p| p.as_bool())
            .filter(|p| *p)
            .map(|_| "1".to_owned()),
        shmsize: extra("shm_size")
            .and_then(crate::limits::bytes)
            .map(|b| b as i32),
        rm: true,
        // A failed step's container goes too, not only those of successful steps.
        forcerm: true,
        buildargs: Some(
            build
                .args
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.clone()?)))
                .collect::<HashMap<_, _>>(),
        ),
        target: build.target.clone().unwrap_or_default(),
        ..Default::default()
    };
    let body = bollard::body_full(tar.into());
    let mut stream = engine.docker().build_image(options, None, Some(body));
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| failed(e.to_string()))?;
        if let Some(message) = info.error_detail.and_then(|d| d.message) {
            return Err(failed(message));
        }
        if let Some(text) = info.stream {
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                progress.send(ProgressEvent::BuildOutput {
                    service: service_name.to_owned(),
                    line: line.to_owned(),
                });
            }
        }
    }
    progress.resource(Resource::Image, &image, "Built");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_into_repository_and_tag() {
        assert_eq!(split_reference("redis"), ("redis", "latest"));
        assert_eq!(split_reference("redis:7"), ("redis", "7"));
        assert_eq!(
            split_reference("localhost:5000/app"),
            ("localhost:5000/app", "latest")
        );
        assert_eq!(
            split_reference("localhost:5000/app:1"),
            ("localhost:5000/app", "1")
        );
        assert_eq!(split_reference("a@sha256:00"), ("a", "sha256:00"));
    }
}
