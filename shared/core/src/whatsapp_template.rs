//! The WhatsApp message template a Meta shop must have approved: its name, language, body and the
//! five quick-reply buttons in the order the config names (`whatsapp.meta.template_button_ratings`).
//!
//! One description serves three readers: `otklik config check` and `otklik crm setup` print it as
//! what to create in WhatsApp Manager, and `otklik whatsapp template` sends it to Meta's message
//! templates API. Meta's wording is fixed at approval, so the body names the shop once, here.

use crate::config::{Config, MetaConfig, WhatsappProvider};
use crate::model::Rating;
use crate::texts::{rating_label, Lang, Who};

/// Meta's category for a message that follows up on a transaction the customer made: the
/// category a feedback question on a delivered order belongs to (Meta's "Utility templates" page).
pub const CATEGORY: &str = "UTILITY";

/// Meta limits a quick-reply button's text to 25 characters (WhatsApp Business Platform,
/// "Template components" → buttons).
pub const MAX_BUTTON_TEXT: usize = 25;

/// One quick-reply button: what it shows and the rating a tap on it gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateButton {
    pub text: String,
    pub rating: Rating,
}

impl TemplateButton {
    /// The payload each send puts on this button; the webhook gives it back on a tap, and the
    /// reply parser reads it as the rating (`otklik_core::reply::parse_button_payload`).
    pub fn payload(&self) -> String {
        button_payload(self.rating)
    }
}

/// `rating_<n>`: the quick-reply payload of the button that means `rating`.
pub fn button_payload(rating: Rating) -> String {
    format!("rating_{}", rating.value())
}

/// The template, as Meta needs it created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSpec {
    pub name: String,
    /// Meta's language code, as the config gives it (`ru`, `uk`, `en_US`…).
    pub language: String,
    pub category: &'static str,
    pub body: String,
    /// In the template's order: the first is the top button.
    pub buttons: Vec<TemplateButton>,
}

/// Our language for a Meta language code: `ru`, `uk` and `en` with or without a region; anything
/// else is written in the installation's own language.
fn lang_of(code: &str, fallback: Lang) -> Lang {
    let base = code.split(['_', '-']).next().unwrap_or_default();
    Lang::ALL
        .into_iter()
        .find(|l| l.code().eq_ignore_ascii_case(base))
        .unwrap_or(fallback)
}

/// The question the template asks, saying who writes and from which shop as every other request
/// does (`[shop]`): a stranger's question with no name reads as spam. No order number, sum or
/// customer name: the same body goes to everyone.
fn body(who: &Who, lang: Lang) -> String {
    let (sender, shop) = (&who.sender, &who.shop);
    match lang {
        Lang::Ru => format!(
            "Здравствуйте! Это {sender}, магазин «{shop}». Как вам заказ, который вы недавно \
             получили? Нажмите кнопку с оценкой от 5 (отлично) до 1 (очень плохо) или ответьте \
             парой слов."
        ),
        Lang::Uk => format!(
            "Добрий день! Це {sender}, магазин «{shop}». Як вам замовлення, яке ви нещодавно \
             отримали? Натисніть кнопку з оцінкою від 5 (чудово) до 1 (дуже погано) або дайте \
             відповідь кількома словами."
        ),
        Lang::En => format!(
            "Hello, this is {sender} from {shop}. How was the order you received recently? Tap \
             a rating from 5 (great) to 1 (very bad), or reply in a few words."
        ),
    }
}

/// The text of the button for `rating`: the digit first, so a customer who reads only the
/// button still sees the scale ("5 — отлично").
pub fn button_text(rating: Rating, lang: Lang) -> String {
    format!("{} — {}", rating.value(), rating_label(rating, lang))
}

/// The rating a button text of ours names ("5 — отлично", in any of our languages), whatever
/// place the button had; `None` for any other text.
pub fn rating_of_button_text(text: &str) -> Option<Rating> {
    let text = text.trim();
    Lang::ALL.into_iter().find_map(|lang| {
        Rating::all()
            .into_iter()
            .find(|&r| button_text(r, lang) == text)
    })
}

/// The template of this Meta installation; `None` when WhatsApp does not go through Meta.
pub fn spec(config: &Config) -> Option<TemplateSpec> {
    if config.whatsapp.provider != WhatsappProvider::Meta {
        return None;
    }
    let meta = config.whatsapp.meta.as_ref()?;
    Some(spec_for(
        meta,
        &config.who(),
        config.texts.language.unwrap_or_default(),
    ))
}

/// The template for `meta`, naming `who` asks; `fallback` is the language when the template's
/// code is none of ours.
pub fn spec_for(meta: &MetaConfig, who: &Who, fallback: Lang) -> TemplateSpec {
    let lang = lang_of(&meta.template_language, fallback);
    // The config was validated: five distinct ratings 1–5. An invalid one cannot reach here, but
    // is left out rather than panicking.
    let buttons = if meta.template_has_buttons {
        meta.template_button_ratings
            .iter()
            .filter_map(|&n| Rating::new(n).ok())
            .map(|rating| TemplateButton {
                text: button_text(rating, lang),
                rating,
            })
            .collect()
    } else {
        Vec::new()
    };
    TemplateSpec {
        name: meta.template_name.clone(),
        language: meta.template_language.clone(),
        category: CATEGORY,
        body: body(who, lang),
        buttons,
    }
}

impl TemplateSpec {
    /// What to create in WhatsApp Manager, for a person at a terminal.
    pub fn describe(&self) -> String {
        let mut out = format!(
            "WhatsApp template to create and get approved (WhatsApp Manager → Message templates, \
             or `otklik whatsapp template`):\n\
             \x20 Name:      {}\n\
             \x20 Category:  {} (Utility)\n\
             \x20 Language:  {}\n\
             \x20 Body:      {}\n",
            self.name, self.category, self.language, self.body
        );
        if self.buttons.is_empty() {
            out.push_str(
                "  Buttons:   none (template_has_buttons = false: customers type the digit)\n",
            );
        } else {
            out.push_str("  Buttons:   quick reply, exactly in this order:\n");
            for (i, b) in self.buttons.iter().enumerate() {
                out.push_str(&format!(
                    "    {}. «{}»  → rating {}\n",
                    i + 1,
                    b.text,
                    b.rating.value()
                ));
            }
            out.push_str(
                "  The order matters: each send tells Meta which rating the button at each place \
                 means (whatsapp.meta.template_button_ratings). A template with its buttons in \
                 another order needs that list changed to match it.\n",
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daisy() -> Who {
        Who {
            sender: "Anna".into(),
            shop: "Daisy".into(),
        }
    }

    fn config(extra: &str) -> Config {
        let text = include_str!("../../../otklik.example.toml")
            .replace("template_button_ratings = [5, 4, 3, 2, 1]\n", "")
            .replace(
                "template_has_buttons = true",
                &format!("template_has_buttons = true\n{extra}"),
            );
        Config::from_toml(&text).unwrap()
    }

    #[test]
    fn the_default_template_puts_the_best_rating_first() {
        let spec = spec(&config("")).unwrap();
        let ratings: Vec<u8> = spec.buttons.iter().map(|b| b.rating.value()).collect();
        assert_eq!(ratings, [5, 4, 3, 2, 1]);
        assert_eq!(spec.buttons[0].text, "5 — отлично");
        assert_eq!(spec.buttons[0].payload(), "rating_5");
        assert_eq!(spec.category, "UTILITY");
        assert!(
            spec.body
                .starts_with("Здравствуйте! Это Анна, магазин «Пример»."),
            "{}",
            spec.body
        );
    }

    #[test]
    fn the_config_names_the_order_of_the_buttons() {
        let spec = spec(&config("template_button_ratings = [1, 2, 3, 4, 5]")).unwrap();
        let ratings: Vec<u8> = spec.buttons.iter().map(|b| b.rating.value()).collect();
        assert_eq!(ratings, [1, 2, 3, 4, 5]);
        assert_eq!(spec.buttons[0].payload(), "rating_1");
        assert!(spec.describe().contains("1. «1 — очень плохо»  → rating 1"));
    }

    #[test]
    fn a_button_list_that_loses_a_rating_is_refused() {
        for bad in ["[5, 4, 3, 2]", "[5, 5, 3, 2, 1]", "[6, 4, 3, 2, 1]", "[]"] {
            let text = include_str!("../../../otklik.example.toml")
                .replace("template_button_ratings = [5, 4, 3, 2, 1]\n", "")
                .replace(
                    "template_has_buttons = true",
                    &format!("template_has_buttons = true\ntemplate_button_ratings = {bad}"),
                );
            let err = Config::from_toml(&text).unwrap_err().to_string();
            assert!(
                err.contains("whatsapp.meta.template_button_ratings"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn every_button_text_fits_meta_and_the_language_follows_the_template() {
        for lang in Lang::ALL {
            for rating in Rating::all() {
                let text = button_text(rating, lang);
                assert!(text.chars().count() <= MAX_BUTTON_TEXT, "{text}");
            }
        }
        let mut meta = config("").whatsapp.meta.unwrap();
        meta.template_language = "en_US".into();
        let spec = spec_for(&meta, &daisy(), Lang::Ru);
        assert_eq!(spec.buttons[0].text, "5 — great");
        assert!(spec.body.contains("Daisy"));
        meta.template_language = "kk".into();
        assert_eq!(
            spec_for(&meta, &daisy(), Lang::Uk).buttons[4].text,
            "1 — дуже погано"
        );
    }

    #[test]
    fn our_button_texts_read_back_as_their_ratings() {
        for lang in Lang::ALL {
            for rating in Rating::all() {
                assert_eq!(
                    rating_of_button_text(&button_text(rating, lang)),
                    Some(rating)
                );
            }
        }
        assert_eq!(rating_of_button_text("5"), None);
        assert_eq!(rating_of_button_text("Хочу скидку"), None);
    }

    #[test]
    fn no_template_without_meta() {
        let text = include_str!("../../../otklik.example.toml")
            .replace("template_button_ratings = [5, 4, 3, 2, 1]\n", "")
            .replace("provider = \"meta\"", "provider = \"green-api\"");
        assert_eq!(spec(&Config::from_toml(&text).unwrap()), None);
    }
}
