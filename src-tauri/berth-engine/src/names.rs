//! Resource names as docker compose derives them (`pkg/compose/convergence.go`,
//! compose-go `normalize.go`), so either tool finds what the other created.

use berth_compose::{Project, Service};

/// The name of a service's `number`th container: `container_name`, else `<project>-<service>-<n>`.
pub fn container_name(project: &str, service_name: &str, service: &Service, number: u32) -> String {
    match &service.container_name {
        Some(name) => name.clone(),
        None => format!("{project}-{service_name}-{number}"),
    }
}

/// The image a service runs: `image:`, else the one compose builds, `<project>-<service>`.
pub fn image_name(project: &Project, service_name: &str) -> String {
    project.services[service_name]
        .image
        .clone()
        .unwrap_or_else(|| format!("{}-{service_name}", project.name))
}

/// The engine-side name of a project network, as berth-compose normalized it (`<project>_<key>`
/// or `name:`), falling back to the derived name for networks the file only references.
pub fn network_name(project: &Project, key: &str) -> String {
    project
        .networks
        .get(key)
        .map(|n| n.name.clone())
        .unwrap_or_else(|| format!("{}_{key}", project.name))
}

/// The engine-side name of a project volume (`<project>_<key>` or `name:`).
pub fn volume_name(project: &Project, key: &str) -> String {
    project
        .volumes
        .get(key)
        .map(|v| v.name.clone())
        .unwrap_or_else(|| format!("{}_{key}", project.name))
}

/// A container name as Docker reports it (`/name`), without the slash.
pub fn trim_slash(name: &str) -> &str {
    name.strip_prefix('/').unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_are_numbered_under_the_project_unless_named() {
        let service = Service::default();
        assert_eq!(container_name("shop", "web", &service, 2), "shop-web-2");
        let named = Service {
            container_name: Some("my-web".into()),
            ..Default::default()
        };
        assert_eq!(container_name("shop", "web", &named, 1), "my-web");
    }

    #[test]
    fn built_images_and_resources_take_the_project_prefix() {
        let mut project = Project {
            name: "shop".into(),
            ..Default::default()
        };
        project.services.insert("api".into(), Service::default());
        assert_eq!(image_name(&project, "api"), "shop-api");
        assert_eq!(network_name(&project, "default"), "shop_default");
        assert_eq!(volume_name(&project, "data"), "shop_data");
        assert_eq!(trim_slash("/shop-api-1"), "shop-api-1");
    }
}
