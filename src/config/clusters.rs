//! `[clusters.NAME]`: Kubernetes clusters where each session runs in a pod of its own,
//! with its workspace and its record on a volume of its own.

use serde::Deserialize;
use std::collections::BTreeMap;

/// Where and how a cluster's session pods are made.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// The kubeconfig context (default: the kubeconfig's current one, as kubectl).
    #[serde(default)]
    pub context: Option<String>,
    /// The namespace of the pods and volumes (default: the context's, else `default`).
    #[serde(default)]
    pub namespace: Option<String>,
    /// The container image: it needs `flotilla`, git and the agent CLIs on its PATH.
    pub image: String,
    /// The volumes' storage class (default: the cluster's default class).
    #[serde(default)]
    pub storage_class: Option<String>,
    /// Each session's volume, as Kubernetes writes a quantity.
    #[serde(default = "default_volume_size")]
    pub volume_size: String,
    /// Resource requests and limits of the container, such as `{ cpu = "1", memory = "2Gi" }`.
    #[serde(default)]
    pub requests: BTreeMap<String, String>,
    #[serde(default)]
    pub limits: BTreeMap<String, String>,
    /// A Secret whose keys become the container's environment: the agents' credentials.
    #[serde(default)]
    pub env_from_secret: Option<String>,
}

fn default_volume_size() -> String {
    "10Gi".into()
}

/// What serde cannot say about the clusters: their names, image and quantities.
pub(super) fn check(clusters: &BTreeMap<String, ClusterConfig>) -> Result<(), String> {
    for (name, cluster) in clusters {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(format!(
                "clusters.{name}: a cluster's name takes letters, digits, '-', '_' and '.'"
            ));
        }
        if cluster.image.trim().is_empty() {
            return Err(format!(
                "clusters.{name}: image is empty: name an image with flotilla, git and the agents"
            ));
        }
        let quantities = std::iter::once(("volume_size", &cluster.volume_size))
            .chain(cluster.requests.values().map(|v| ("requests", v)))
            .chain(cluster.limits.values().map(|v| ("limits", v)));
        for (key, value) in quantities {
            if !is_quantity(value) {
                return Err(format!(
                    "clusters.{name}.{key}: `{value}` is not a quantity: write one such as `10Gi`, `500m` or `2`"
                ));
            }
        }
    }
    Ok(())
}

/// A Kubernetes quantity: a decimal number, then an optional suffix.
fn is_quantity(text: &str) -> bool {
    const SUFFIXES: [&str; 14] = [
        "", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei",
    ];
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let number = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.chars().filter(|c| *c == '.').count() <= 1
        && digits.chars().any(|c| c.is_ascii_digit());
    number && SUFFIXES.contains(&&text[digits.len()..])
}

#[cfg(test)]
mod tests {
    use super::is_quantity;

    #[test]
    fn quantities_are_numbers_with_kubernetes_suffixes() {
        for good in ["10Gi", "500m", "2", "1.5", "100M"] {
            assert!(is_quantity(good), "{good}");
        }
        for bad in ["", "Gi", "10GB", "ten", "1.2.3", "-1"] {
            assert!(!is_quantity(bad), "{bad}");
        }
    }
}
