//! Meta's question template: the send puts the config's rating on each button, and
//! `create_template` creates the template through the message templates API of the simulator,
//! which answers as Meta's "Template fundamentals" page shows (and refuses a duplicate the Graph
//! API way).

use otklik_core::config::{Config, MetaConfig};
use otklik_core::model::Phone;
use otklik_core::whatsapp_template::spec_for;
use otklik_messaging::{template_request, MetaClient, TemplateError};
use otklik_whatsapp_sim::{spawn, SimConfig};

fn meta(url: &str, ratings: &[u8]) -> MetaConfig {
    let text = include_str!("../../../otklik.example.toml");
    let mut meta = Config::from_toml(text).unwrap().whatsapp.meta.unwrap();
    meta.api_url = url.to_string();
    meta.template_button_ratings = ratings.to_vec();
    meta.business_account_id = Some(SimConfig::default().meta_business_account_id);
    meta
}

#[tokio::test]
async fn each_button_carries_the_rating_the_config_gives_its_place() {
    let sim = spawn(SimConfig::default()).await.unwrap();
    let client = MetaClient::new(meta(&sim.url(), &[1, 2, 3, 4, 5]), "meta-token");
    client
        .send_template(&Phone::parse("+79001234567", "RU").unwrap())
        .await
        .unwrap();
    let sent = sim.state().messages();
    assert_eq!(
        sent[0].buttons,
        ["rating_1", "rating_2", "rating_3", "rating_4", "rating_5"]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_template_is_created_once_and_a_second_time_is_refused_in_words() {
    let sim = spawn(SimConfig::default()).await.unwrap();
    let config = meta(&sim.url(), &[5, 4, 3, 2, 1]);
    let spec = spec_for(
        &config,
        &otklik_core::texts::Who {
            sender: "Анна".into(),
            shop: "Ромашка".into(),
        },
        Default::default(),
    );
    let client = MetaClient::new(config.clone(), "meta-token");
    let waba = config.business_account_id.clone().unwrap();

    let created = client.create_template(&waba, &spec).await.unwrap();
    assert_eq!(created.status, "PENDING");
    assert!(!created.id.is_empty());
    let templates = sim.state().templates();
    assert_eq!(templates.len(), 1);
    assert_eq!(templates[0].name, "order_feedback");
    assert_eq!(templates[0].language, "ru");
    assert_eq!(templates[0].category, "UTILITY");
    let buttons: Vec<&str> = templates[0].components[1]["buttons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        buttons,
        [
            "5 — отлично",
            "4 — хорошо",
            "3 — нормально",
            "2 — плохо",
            "1 — очень плохо"
        ]
    );
    assert_eq!(
        templates[0].components,
        template_request(&spec)["components"]
    );

    let again = client.create_template(&waba, &spec).await.unwrap_err();
    let TemplateError::Refused(words) = again else {
        panic!("{again:?}")
    };
    assert!(
        words.contains("Content in this language already exists") && words.contains("2388024"),
        "{words}"
    );
    assert!(!words.contains('{'), "{words}");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_wrong_token_or_account_is_refused() {
    let sim = spawn(SimConfig::default()).await.unwrap();
    let config = meta(&sim.url(), &[5, 4, 3, 2, 1]);
    let spec = spec_for(
        &config,
        &otklik_core::texts::Who {
            sender: "Анна".into(),
            shop: "Ромашка".into(),
        },
        Default::default(),
    );
    let bad_token = MetaClient::new(config.clone(), "not-the-token");
    let err = bad_token
        .create_template("100000000000002", &spec)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("code 190"), "{err}");
    let client = MetaClient::new(config, "meta-token");
    let err = client.create_template("999", &spec).await.unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(sim.state().templates().is_empty());
    sim.shutdown().await;
}
