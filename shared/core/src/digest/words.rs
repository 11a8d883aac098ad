//! The digest's own words in the shop's language (`texts.language`); the figures' labels are the
//! dashboard's ([`crate::dashboard::Words`]), so the mail and the page name a figure alike.

use crate::texts::Lang;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestWords {
    pub subject: &'static str,
    pub heading: &'static str,
    pub compared_with: &'static str,
    /// Before the week before's figure: "4,25 (the week before 3,9)".
    pub before: &'static str,
    pub answered_on: &'static str,
    pub rated_short: &'static str,
    pub average_short: &'static str,
    pub low_short: &'static str,
    pub lowest: &'static str,
    pub no_lowest: &'static str,
    pub in_crm: &'static str,
    pub employee_page: &'static str,
    pub past_sla: &'static str,
    pub sla_used: &'static str,
    pub hours: &'static str,
    pub dashboard: &'static str,
    pub link_until: &'static str,
    pub link_warning: &'static str,
    pub no_link: &'static str,
    pub notes: [&'static str; 2],
}

impl DigestWords {
    pub fn of(lang: Lang) -> &'static DigestWords {
        match lang {
            Lang::Ru => &RU,
            Lang::Uk => &UK,
            Lang::En => &EN,
        }
    }
}

const RU: DigestWords = DigestWords {
    subject: "оценки за неделю",
    heading: "Оценки покупателей за неделю",
    compared_with: "В скобках — неделя до неё,",
    before: "неделей раньше",
    answered_on: "Оценили через",
    rated_short: "оценённых заказов",
    average_short: "средняя",
    low_short: "оценок 1–2:",
    lowest: "Три самые низкие оценки недели (от 1 до 3)",
    no_lowest: "Оценок от 1 до 3 за неделю не было.",
    in_crm: "Заказ в retailCRM",
    employee_page: "страница в отчёте",
    past_sla: "Открытые жалобы, которые ждали дольше срока",
    sla_used: "Ждала в счёт срока / срок",
    hours: "ч",
    dashboard: "Весь отчёт — по ссылке:",
    link_until: "Ссылка действует до",
    link_warning: "По ней отчёт открывается без пароля, поэтому не пересылайте письмо за пределы команды.",
    no_link: "Ссылку на отчёт сейчас не сделать: её выдаёт команда otklik report link.",
    notes: [
        "Заказ засчитывается всем, кто с ним работал; жалобы — оценки 1–2 и тройки с просьбой перезвонить.",
        "Письмо приходит раз в неделю на адреса из report.digest_to в настройках Otklik.",
    ],
};

const UK: DigestWords = DigestWords {
    subject: "оцінки за тиждень",
    heading: "Оцінки покупців за тиждень",
    compared_with: "У дужках — тиждень перед ним,",
    before: "тижнем раніше",
    answered_on: "Оцінили через",
    rated_short: "оцінених замовлень",
    average_short: "середня",
    low_short: "оцінок 1–2:",
    lowest: "Три найнижчі оцінки тижня (від 1 до 3)",
    no_lowest: "Оцінок від 1 до 3 за тиждень не було.",
    in_crm: "Замовлення в retailCRM",
    employee_page: "сторінка у звіті",
    past_sla: "Відкриті скарги, які чекали довше за строк",
    sla_used: "Чекала в рахунок строку / строк",
    hours: "год",
    dashboard: "Увесь звіт — за посиланням:",
    link_until: "Посилання діє до",
    link_warning: "За ним звіт відкривається без пароля, тож не пересилайте лист поза команду.",
    no_link: "Посилання на звіт зараз не зробити: його видає команда otklik report link.",
    notes: [
        "Замовлення зараховується всім, хто з ним працював; скарги — оцінки 1–2 і трійки з проханням передзвонити.",
        "Лист приходить раз на тиждень на адреси з report.digest_to у налаштуваннях Otklik.",
    ],
};

const EN: DigestWords = DigestWords {
    subject: "ratings of the week",
    heading: "Customer ratings of the week",
    compared_with: "In brackets, the week before:",
    before: "week before",
    answered_on: "Rated via",
    rated_short: "rated orders",
    average_short: "average",
    low_short: "rated 1–2:",
    lowest: "The week's three lowest ratings (1 to 3)",
    no_lowest: "No ratings from 1 to 3 this week.",
    in_crm: "Order in retailCRM",
    employee_page: "page in the report",
    past_sla: "Open complaints that waited longer than the SLA",
    sla_used: "Waited against the SLA / SLA",
    hours: "h",
    dashboard: "The whole report:",
    link_until: "The link works until",
    link_warning: "It opens the report without a password: keep this email within the team.",
    no_link: "No report link this time: otklik report link makes one.",
    notes: [
        "An order counts for everyone who worked on it; complaints are ratings of 1–2 and 3s that asked for a call.",
        "This email comes once a week to the addresses in report.digest_to of the Otklik settings.",
    ],
};
