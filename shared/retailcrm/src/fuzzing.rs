//! One entry point that runs every decoder of retailCRM answers on arbitrary bytes, for the
//! fuzz targets (`fuzz/`, `make fuzz`) and the property tests. Not part of the client's API.

use serde_json::Value;

use crate::model::{
    custom_fields_from_json, pagination_of, product_groups_from_json, sites_from_json,
    statuses_from_json, users_from_json,
};
use crate::{HistoryEntry, HistoryPage, Order};

/// Decodes `body` as the answer to every call we make, with `status` as its HTTP status. Any
/// outcome is fine except a panic.
pub fn decode_everything(status: u16, body: &[u8]) {
    let _ = crate::transport::classify(status, body);
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let tz = chrono_tz::Europe::Moscow;
    let _ = Order::from_json(&v, tz, "main");
    if let Some(o) = v.get("order") {
        let _ = Order::from_json(o, tz, "main");
    }
    for o in v
        .get("orders")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let _ = Order::from_json(o, tz, "main");
    }
    let _ = HistoryEntry::from_json(&v, tz);
    let _ = HistoryPage::from_json(&v, tz, 1);
    let _ = HistoryPage::from_json(&v, tz, u32::MAX);
    let _ = pagination_of(&v, 0);
    let _ = custom_fields_from_json(&v);
    let _ = statuses_from_json(&v);
    let _ = sites_from_json(&v);
    let _ = users_from_json(&v);
    let mut groups = Vec::new();
    product_groups_from_json(&v, &mut groups);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// JSON values shaped like retailCRM answers, with arbitrary leaves where the fields go.
    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            ".{0,30}".prop_map(Value::from),
            "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}".prop_map(Value::from),
        ]
    }

    fn shaped() -> impl Strategy<Value = Value> {
        let keys = prop::sample::select(vec![
            "id",
            "site",
            "status",
            "statusUpdatedAt",
            "createdAt",
            "phone",
            "additionalPhone",
            "email",
            "customer",
            "contact",
            "managerId",
            "delivery",
            "code",
            "items",
            "offer",
            "customFields",
            "history",
            "field",
            "oldValue",
            "newValue",
            "order",
            "orders",
            "pagination",
            "totalPageCount",
            "currentPage",
            "statuses",
            "sites",
            "users",
            "productGroup",
            "offers",
            "product",
            "groups",
            "success",
            "errorMsg",
            "errors",
            "user",
            "source",
            "created",
            "deleted",
            "orderType",
            "orderMethod",
        ]);
        leaf().prop_recursive(4, 64, 8, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map(keys.clone(), inner, 0..8).prop_map(|m| Value::Object(
                    m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
                )),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn arbitrary_bytes_never_panic_a_decoder(
            status in prop::sample::select(vec![200u16, 201, 400, 401, 403, 404, 429, 500, 502, 503, 0, 999]),
            body in prop::collection::vec(any::<u8>(), 0..512),
        ) {
            decode_everything(status, &body);
        }

        #[test]
        fn crm_shaped_json_never_panics_a_decoder(v in shaped()) {
            let body = serde_json::to_vec(&v).unwrap();
            decode_everything(200, &body);
            let wrapped = serde_json::json!({"success": true, "order": v, "orders": [v], "history": [v]});
            decode_everything(200, &serde_json::to_vec(&wrapped).unwrap());
        }
    }
}
