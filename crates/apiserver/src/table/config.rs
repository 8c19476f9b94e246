//! Printers for configuration kinds: configmaps, secrets, service accounts.

use super::format::{age, list, map_len, name, text};
use super::{AGE, Column, NAME, Printer, Row};

pub const CONFIG_MAPS: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "Data",
            "string",
            0,
            "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'.",
        ),
        AGE,
    ],
    // DATA counts binaryData keys too.
    row: |cm, now| {
        Row::new(vec![
            name(cm).into(),
            (map_len(cm, &["data"]) + map_len(cm, &["binaryData"])).into(),
            age(cm, now),
        ])
    },
};

pub const SECRETS: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "Type",
            "string",
            0,
            "Used to facilitate programmatic handling of secret data.",
        ),
        Column::new(
            "Data",
            "string",
            0,
            "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'.",
        ),
        AGE,
    ],
    row: |secret, now| {
        Row::new(vec![
            name(secret).into(),
            text(secret, &["type"]).into(),
            map_len(secret, &["data"]).into(),
            age(secret, now),
        ])
    },
};

pub const SERVICE_ACCOUNTS: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "Secrets",
            "string",
            0,
            "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.",
        ),
        AGE,
    ],
    row: |sa, now| {
        Row::new(vec![
            name(sa).into(),
            (list(sa, &["secrets"]).len() as i64).into(),
            age(sa, now),
        ])
    },
};

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use serde_json::json;

    use super::*;

    #[test]
    fn counts_data_keys() {
        let now = DateTime::<Utc>::default();
        let cm = json!({"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}});
        assert_eq!((CONFIG_MAPS.row)(&cm, now).cells[1], 3);
        let s = json!({"metadata": {"name": "s"}, "type": "Opaque", "data": {"a": "MQ=="}});
        assert_eq!(
            (SECRETS.row)(&s, now).cells[1..3],
            [json!("Opaque"), json!(1)]
        );
        let sa = json!({"metadata": {"name": "default"}});
        assert_eq!((SERVICE_ACCOUNTS.row)(&sa, now).cells[1], 0);
    }
}
