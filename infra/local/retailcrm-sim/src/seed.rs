//! Reference data of the simulated account: sites, statuses, users, products, order fields.
//!
//! The demo preset is a public function so tests can build expectations from the same data the
//! simulator serves, instead of repeating ids and codes by hand.

use serde::{Deserialize, Serialize};

/// A site ("магазин") of the account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    pub code: String,
    pub name: String,
    pub url: String,
}

/// An order status; `group` is one of retailCRM's fixed status-group codes
/// (`new`, `approval`, `assembling`, `delivery`, `complete`, `cancel`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub code: String,
    pub name: String,
    pub group: String,
    pub ordering: u32,
    pub active: bool,
}

/// An employee account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: u64,
    pub first_name: String,
    pub last_name: String,
    pub active: bool,
    pub is_manager: bool,
    pub email: String,
}

/// A catalogue product group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductGroup {
    pub id: u64,
    pub external_id: String,
    pub name: String,
}

/// A trade offer (the sellable variant an order item points at).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Offer {
    pub id: u64,
    pub external_id: String,
    pub name: String,
    pub price: f64,
}

/// A catalogue product with its offers; `groups` holds product-group ids.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub id: u64,
    pub name: String,
    pub active: bool,
    pub offers: Vec<Offer>,
    pub groups: Vec<u64>,
}

/// A custom field definition (`custom-fields/{entity}/create`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomField {
    pub code: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub entity: String,
    pub view_mode: String,
    pub ordering: u32,
}

/// Everything a preset loads into an empty account.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seed {
    pub sites: Vec<Site>,
    pub statuses: Vec<Status>,
    pub users: Vec<User>,
    pub product_groups: Vec<ProductGroup>,
    pub products: Vec<Product>,
    pub custom_fields: Vec<CustomField>,
}

/// Ids of the demo preset's people, for tests and the demo script.
pub mod demo {
    /// The shop owner's account: an administrator, not a manager (cannot own orders).
    pub const OWNER: u64 = 1;
    /// The quality-control inspector; a manager in retailCRM terms, so complaints can be assigned.
    pub const INSPECTOR: u64 = 7;
    /// The four sales managers.
    pub const MANAGERS: [u64; 4] = [11, 12, 13, 14];
    /// The main web shop.
    pub const MAIN_SITE: &str = "main-shop";
    /// The second web shop.
    pub const URAL_SITE: &str = "ural-shop";
    /// The shop of `make demo`'s third act: customers in Russia in 2026, asked on MAX, then by
    /// SMS, then by email (its own channel chain in the local configuration).
    pub const RUSSIA_SITE: &str = "russia-2026";
    /// The virtual store where complaints live.
    pub const COMPLAINTS_SITE: &str = "reklamacii";
}

fn site(code: &str, name: &str) -> Site {
    Site {
        code: code.into(),
        name: name.into(),
        url: format!("https://{code}.example.ru"),
    }
}

fn status(code: &str, name: &str, group: &str, ordering: u32) -> Status {
    Status {
        code: code.into(),
        name: name.into(),
        group: group.into(),
        ordering,
        active: true,
    }
}

fn user(id: u64, first: &str, last: &str, is_manager: bool, login: &str) -> User {
    User {
        id,
        first_name: first.into(),
        last_name: last.into(),
        active: true,
        is_manager,
        email: format!("{login}@example.ru"),
    }
}

fn offer(id: u64, name: &str, price: f64) -> Offer {
    Offer {
        id,
        external_id: format!("sku-{id}"),
        name: name.into(),
        price,
    }
}

/// The demo account: four sites (three shops and the complaints store), the shop's statuses plus
/// the four complaint statuses, an owner, an inspector, four managers and a small catalogue.
pub fn demo_seed() -> Seed {
    Seed {
        sites: vec![
            site(demo::MAIN_SITE, "Основной магазин"),
            site(demo::URAL_SITE, "Магазин Урал"),
            site(demo::RUSSIA_SITE, "Россия 2026"),
            site(demo::COMPLAINTS_SITE, "Рекламации"),
        ],
        statuses: vec![
            status("new", "Новый", "new", 10),
            status("assembling", "Комплектуется", "assembling", 20),
            status("delivering", "Доставляется", "delivery", 30),
            status("complete", "Выполнен", "complete", 40),
            status("cancel-other", "Отменён", "cancel", 50),
            status("return", "Возврат", "cancel", 60),
            status("complaint-created", "Рекламация создана", "new", 70),
            status("complaint-in-work", "Рекламация в работе", "approval", 80),
            status(
                "complaint-failed",
                "Рекламация обработана неудачно",
                "cancel",
                90,
            ),
            status("complaint-resolved", "Негатив устранён", "complete", 100),
        ],
        users: vec![
            user(demo::OWNER, "Виктор", "Орлов", false, "owner"),
            user(demo::INSPECTOR, "Марина", "Волкова", true, "inspector"),
            user(11, "Анна", "Смирнова", true, "a.smirnova"),
            user(12, "Дмитрий", "Кузнецов", true, "d.kuznetsov"),
            user(13, "Ольга", "Иванова", true, "o.ivanova"),
            user(14, "Сергей", "Попов", true, "s.popov"),
        ],
        product_groups: vec![
            ProductGroup {
                id: 1,
                external_id: "furniture".into(),
                name: "Мебель".into(),
            },
            ProductGroup {
                id: 2,
                external_id: "lamps".into(),
                name: "Светильники".into(),
            },
            ProductGroup {
                id: 3,
                external_id: "textile".into(),
                name: "Текстиль".into(),
            },
        ],
        products: vec![
            Product {
                id: 101,
                name: "Стул венский".into(),
                active: true,
                offers: vec![offer(10, "Стул венский, бук", 4900.0)],
                groups: vec![1],
            },
            Product {
                id: 102,
                name: "Стол обеденный".into(),
                active: true,
                offers: vec![
                    offer(11, "Стол обеденный 120 см", 18900.0),
                    offer(12, "Стол обеденный 160 см", 23900.0),
                ],
                groups: vec![1],
            },
            Product {
                id: 103,
                name: "Лампа настольная".into(),
                active: true,
                offers: vec![offer(20, "Лампа настольная, латунь", 3500.0)],
                groups: vec![2],
            },
            Product {
                id: 104,
                name: "Торшер".into(),
                active: true,
                offers: vec![offer(21, "Торшер с абажуром", 7900.0)],
                groups: vec![2, 1],
            },
            Product {
                id: 105,
                name: "Плед шерстяной".into(),
                active: true,
                offers: vec![offer(30, "Плед шерстяной 140×200", 5200.0)],
                groups: vec![3],
            },
        ],
        custom_fields: Vec::new(),
    }
}
