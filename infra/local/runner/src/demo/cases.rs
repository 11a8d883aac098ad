//! Who does what in the demo's WhatsApp shops: each customer, how they answer, and what must
//! follow (the Russian shop's day is in `russia`).

use super::{Answer, Case, Expect, MaxAccount};

pub(super) const fn rated(r: u8) -> Expect {
    Expect {
        rating: Some(r),
        complaint: false,
        inspector_task: false,
        opted_out: false,
        asked: &[],
        after_reminder: false,
    }
}

pub(super) const fn complained(r: u8) -> Expect {
    Expect {
        rating: Some(r),
        complaint: true,
        inspector_task: false,
        opted_out: false,
        asked: &[],
        after_reminder: false,
    }
}

pub(super) const NOTHING: Expect = Expect {
    rating: None,
    complaint: false,
    inspector_task: false,
    opted_out: false,
    asked: &[],
    after_reminder: false,
};

#[allow(clippy::too_many_arguments)]
const fn wa(
    who: &'static str,
    site: &'static str,
    delivery: &'static str,
    phone: &'static str,
    managers: (u64, u64),
    answer: Answer,
    expect: Expect,
) -> Case {
    Case {
        who,
        site,
        delivery,
        phone: Some(phone),
        has_whatsapp: true,
        max: MaxAccount::None,
        email: None,
        managers,
        answer,
        expect,
    }
}

const fn mail(
    who: &'static str,
    email: &'static str,
    managers: (u64, u64),
    answer: Answer,
    expect: Expect,
) -> Case {
    Case {
        who,
        site: "main-shop",
        delivery: "courier",
        phone: None,
        has_whatsapp: false,
        max: MaxAccount::None,
        email: Some(email),
        managers,
        answer,
        expect,
    }
}

/// The Meta shop's day.
pub fn meta_day() -> Vec<Case> {
    use Answer::*;
    let c = "courier";
    let p = "self-delivery";
    let m = "main-shop";
    let u = "ural-shop";
    vec![
        wa(
            "Ольга",
            m,
            c,
            "+79005550001",
            (11, 11),
            Say(&["5"]),
            rated(5),
        ),
        wa(
            "Пётр",
            m,
            p,
            "+79005550002",
            (12, 12),
            Say(&["5️⃣"]),
            rated(5),
        ),
        wa(
            "Инна",
            u,
            c,
            "+79005550003",
            (13, 14),
            Say(&["⭐⭐⭐⭐⭐"]),
            rated(5),
        ),
        wa(
            "Глеб",
            m,
            c,
            "+79005550004",
            (14, 14),
            Say(&["пять"]),
            rated(5),
        ),
        wa(
            "Зоя",
            m,
            p,
            "+79005550005",
            (11, 12),
            Say(&["5, спасибо!"]),
            rated(5),
        ),
        wa(
            "Марк",
            m,
            c,
            "+79005550006",
            (12, 12),
            Say(&["4"]),
            rated(4),
        ),
        wa(
            "Нина",
            u,
            p,
            "+79005550007",
            (13, 13),
            Say(&["4 из 5"]),
            rated(4),
        ),
        wa(
            "Олег",
            m,
            c,
            "+79005550008",
            (14, 11),
            Say(&["на 4"]),
            rated(4),
        ),
        wa(
            "Вера",
            m,
            c,
            "+79005550009",
            (11, 11),
            Say(&["четыре"]),
            rated(4),
        ),
        wa(
            "Лев",
            m,
            c,
            "+79005550010",
            (12, 13),
            Say(&["3", "да"]),
            complained(3),
        ),
        wa(
            "Ева",
            m,
            p,
            "+79005550011",
            (13, 13),
            Say(&["3", "да, позвоните"]),
            complained(3),
        ),
        wa(
            "Иван",
            m,
            c,
            "+79005550012",
            (14, 14),
            Say(&["3", "нет"]),
            rated(3),
        ),
        wa(
            "Яна",
            u,
            c,
            "+79005550013",
            (11, 14),
            Say(&["3", "не надо"]),
            rated(3),
        ),
        wa(
            "Тимур",
            m,
            c,
            "+79005550014",
            (12, 12),
            Say(&["2"]),
            complained(2),
        ),
        wa(
            "Алла",
            m,
            p,
            "+79005550015",
            (13, 11),
            Say(&["2, привезли не тот цвет"]),
            complained(2),
        ),
        wa(
            "Фёдор",
            m,
            c,
            "+79005550016",
            (14, 14),
            Say(&["1"]),
            complained(1),
        ),
        wa(
            "Юлия",
            m,
            c,
            "+79005550017",
            (11, 11),
            Say(&["1, курьер нагрубил"]),
            complained(1),
        ),
        wa(
            "Егор",
            m,
            c,
            "+79005550018",
            (12, 12),
            Say(&["а когда привезут второй заказ?"]),
            Expect {
                inspector_task: true,
                ..NOTHING
            },
        ),
        wa(
            "Дина",
            u,
            p,
            "+79005550019",
            (13, 13),
            Say(&["1500 руб вернёте?"]),
            Expect {
                inspector_task: true,
                ..NOTHING
            },
        ),
        wa("Савва", m, c, "+79005550020", (14, 12), Silent, NOTHING),
        wa("Рита", m, p, "+79005550021", (11, 11), Silent, NOTHING),
        wa(
            "Кира",
            m,
            c,
            "+79005550022",
            (12, 12),
            Say(&["стоп"]),
            Expect {
                opted_out: true,
                ..NOTHING
            },
        ),
        mail("Борис", "boris@example.ru", (13, 13), Click(5), rated(5)),
        mail("Лина", "lina@example.ru", (14, 11), Click(4), rated(4)),
        mail(
            "Семён",
            "semen@example.ru",
            (11, 11),
            Click(2),
            complained(2),
        ),
        mail(
            "Ада",
            "ada@example.ru",
            (12, 12),
            ScannedThenClick(5),
            rated(5),
        ),
        Case {
            who: "Роман",
            site: "main-shop",
            delivery: "courier",
            phone: Some("+79005550027"),
            has_whatsapp: false,
            max: MaxAccount::None,
            email: Some("roman@example.ru"),
            managers: (13, 14),
            answer: Click(4),
            expect: rated(4),
        },
    ]
}

/// The Green-API shop's shorter day.
pub fn green_day() -> Vec<Case> {
    use Answer::*;
    let m = "main-shop";
    vec![
        wa(
            "Алина",
            m,
            "courier",
            "+79005560001",
            (11, 11),
            Say(&["5"]),
            rated(5),
        ),
        wa(
            "Денис",
            m,
            "courier",
            "+79005560002",
            (12, 13),
            Say(&["1, разбита упаковка"]),
            complained(1),
        ),
        wa(
            "Мила",
            m,
            "self-delivery",
            "+79005560003",
            (13, 13),
            Say(&["а чек пришлёте?"]),
            Expect {
                inspector_task: true,
                ..NOTHING
            },
        ),
        wa(
            "Степан",
            m,
            "courier",
            "+79005560004",
            (14, 14),
            Say(&["3", "да"]),
            complained(3),
        ),
    ]
}
