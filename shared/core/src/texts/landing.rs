//! The words of the landing page a customer sees after clicking a link in the survey email:
//! headings, explanations, buttons, errors. Keys and our own wording live here, so
//! `[texts.landing.<lang>]` can name them; [`crate::landing`] puts them into the pages.

use serde::{Deserialize, Serialize};

use super::{parse_key, Wording};

/// One text of the landing page. `<title>` texts go into the browser tab, `heading` ones into the
/// page's headline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
// Read through a string so that a config error names the key it is about.
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum LandingText {
    /// The rating pages' headline and title once the rating is recorded.
    RatingTitle,
    /// The rating page's headline and title before anything is recorded (no thanks yet).
    RatingYoursTitle,
    /// Under the stars: the rating in words, e.g. "4 из 5".
    RatingScore,
    /// While the page's script saves the rating.
    RatingSaving,
    /// The script could not save the rating.
    RatingFailed,
    /// Above the button that records the rating without script.
    RatingHint,
    RatingButton,
    /// The title of the page that asks to confirm (a suspected link scanner).
    ConfirmTitle,
    /// Why we ask to confirm.
    ConfirmText,
    ConfirmButton,
    /// The survey already has an answer: headline and title.
    AnsweredTitle,
    AnsweredText,
    /// On the "already answered" page: the rating we recorded (not the one just clicked).
    AnsweredRating,
    /// How to reach a person (a misclick, an expired link): `{contact}` is `email.reply_to`.
    ContactLine,
    /// After a 4–5.
    ThanksText,
    /// After a 3: shall we get in touch? (Not "call": the page does not know yet whether we have
    /// the customer's phone.)
    ContactQuestion,
    ContactYesButton,
    ContactNoButton,
    /// After a 1–2: sorry, the quality team has it; above the comment box.
    CommentIntro,
    CommentLabel,
    CommentButton,
    /// After "yes, call me".
    CallBackTitle,
    CallBackHeading,
    CallBackText,
    /// [`LandingText::CallBackText`] for a customer we have no phone for: no call is promised.
    CallBackTextEmail,
    CallBackNote,
    /// After "no, don't call".
    NoCallTitle,
    NoCallHeading,
    NoCallText,
    NoCallNote,
    /// After the comment was saved.
    CommentSavedTitle,
    CommentSavedHeading,
    CommentSavedText,
    /// The unsubscribe link's page.
    OptOutTitle,
    OptOutHeading,
    OptOutText,
    OptOutButton,
    /// After unsubscribing.
    OptedOutTitle,
    OptedOutHeading,
    OptedOutText,
    /// Under every page, after the shop's name.
    Footer,
    /// The SMS short link's page: headline and the line above the five ratings.
    AskTitle,
    AskText,
    /// Under every page reached from the SMS, instead of [`LandingText::Footer`] (an SMS cannot
    /// be answered).
    SmsFooter,
    /// The inspector's page for an answer we could not read (the link in their retailCRM task):
    /// headline and title, what choosing does, and the two choices besides the five ratings.
    ResolveTitle,
    ResolveText,
    ResolveCallButton,
    ResolveNoneButton,
    /// After the inspector's choice: the headline, and one line per kind of choice.
    ResolvedTitle,
    ResolvedRating,
    ResolvedCall,
    ResolvedNone,
    /// The inspector's link of a survey that needs no decision any more (the customer answered
    /// themselves, or the choice was made before).
    ResolvedBeforeTitle,
    ResolvedBeforeText,
    /// Under the inspector's pages, instead of the customer's footers.
    InspectorFooter,
    /// Each error's headline and its one sentence (also the `message` of the JSON answer).
    ErrorExpiredTitle,
    ErrorExpired,
    ErrorBrokenLinkTitle,
    ErrorBrokenLink,
    ErrorNotFoundTitle,
    ErrorNotFound,
    ErrorTooLargeTitle,
    ErrorTooLarge,
    ErrorBadRequestTitle,
    ErrorBadRequest,
    /// [`LandingText::ErrorBadRequest`] on a page reached from the SMS.
    ErrorBadRequestSms,
    ErrorServerErrorTitle,
    ErrorServerError,
}

impl TryFrom<String> for LandingText {
    type Error = String;

    fn try_from(key: String) -> Result<Self, String> {
        parse_key(&key)
    }
}

impl Wording for LandingText {
    const TABLE: &'static str = "landing";
    const ALL: &'static [LandingText] = &[
        LandingText::RatingTitle,
        LandingText::RatingYoursTitle,
        LandingText::RatingScore,
        LandingText::RatingSaving,
        LandingText::RatingFailed,
        LandingText::RatingHint,
        LandingText::RatingButton,
        LandingText::ConfirmTitle,
        LandingText::ConfirmText,
        LandingText::ConfirmButton,
        LandingText::AnsweredTitle,
        LandingText::AnsweredText,
        LandingText::AnsweredRating,
        LandingText::ContactLine,
        LandingText::ThanksText,
        LandingText::ContactQuestion,
        LandingText::ContactYesButton,
        LandingText::ContactNoButton,
        LandingText::CommentIntro,
        LandingText::CommentLabel,
        LandingText::CommentButton,
        LandingText::CallBackTitle,
        LandingText::CallBackHeading,
        LandingText::CallBackText,
        LandingText::CallBackTextEmail,
        LandingText::CallBackNote,
        LandingText::NoCallTitle,
        LandingText::NoCallHeading,
        LandingText::NoCallText,
        LandingText::NoCallNote,
        LandingText::CommentSavedTitle,
        LandingText::CommentSavedHeading,
        LandingText::CommentSavedText,
        LandingText::OptOutTitle,
        LandingText::OptOutHeading,
        LandingText::OptOutText,
        LandingText::OptOutButton,
        LandingText::OptedOutTitle,
        LandingText::OptedOutHeading,
        LandingText::OptedOutText,
        LandingText::Footer,
        LandingText::AskTitle,
        LandingText::AskText,
        LandingText::SmsFooter,
        LandingText::ResolveTitle,
        LandingText::ResolveText,
        LandingText::ResolveCallButton,
        LandingText::ResolveNoneButton,
        LandingText::ResolvedTitle,
        LandingText::ResolvedRating,
        LandingText::ResolvedCall,
        LandingText::ResolvedNone,
        LandingText::ResolvedBeforeTitle,
        LandingText::ResolvedBeforeText,
        LandingText::InspectorFooter,
        LandingText::ErrorExpiredTitle,
        LandingText::ErrorExpired,
        LandingText::ErrorBrokenLinkTitle,
        LandingText::ErrorBrokenLink,
        LandingText::ErrorNotFoundTitle,
        LandingText::ErrorNotFound,
        LandingText::ErrorTooLargeTitle,
        LandingText::ErrorTooLarge,
        LandingText::ErrorBadRequestTitle,
        LandingText::ErrorBadRequest,
        LandingText::ErrorBadRequestSms,
        LandingText::ErrorServerErrorTitle,
        LandingText::ErrorServerError,
    ];

    fn key(self) -> &'static str {
        use LandingText::*;
        match self {
            RatingTitle => "rating_title",
            RatingYoursTitle => "rating_yours_title",
            RatingScore => "rating_score",
            RatingSaving => "rating_saving",
            RatingFailed => "rating_failed",
            RatingHint => "rating_hint",
            RatingButton => "rating_button",
            ConfirmTitle => "confirm_title",
            ConfirmText => "confirm_text",
            ConfirmButton => "confirm_button",
            AnsweredTitle => "answered_title",
            AnsweredText => "answered_text",
            AnsweredRating => "answered_rating",
            ContactLine => "contact_line",
            ThanksText => "thanks_text",
            ContactQuestion => "contact_question",
            ContactYesButton => "contact_yes_button",
            ContactNoButton => "contact_no_button",
            CommentIntro => "comment_intro",
            CommentLabel => "comment_label",
            CommentButton => "comment_button",
            CallBackTitle => "call_back_title",
            CallBackHeading => "call_back_heading",
            CallBackText => "call_back_text",
            CallBackTextEmail => "call_back_text_email",
            CallBackNote => "call_back_note",
            NoCallTitle => "no_call_title",
            NoCallHeading => "no_call_heading",
            NoCallText => "no_call_text",
            NoCallNote => "no_call_note",
            CommentSavedTitle => "comment_saved_title",
            CommentSavedHeading => "comment_saved_heading",
            CommentSavedText => "comment_saved_text",
            OptOutTitle => "opt_out_title",
            OptOutHeading => "opt_out_heading",
            OptOutText => "opt_out_text",
            OptOutButton => "opt_out_button",
            OptedOutTitle => "opted_out_title",
            OptedOutHeading => "opted_out_heading",
            OptedOutText => "opted_out_text",
            Footer => "footer",
            AskTitle => "ask_title",
            AskText => "ask_text",
            SmsFooter => "sms_footer",
            ResolveTitle => "resolve_title",
            ResolveText => "resolve_text",
            ResolveCallButton => "resolve_call_button",
            ResolveNoneButton => "resolve_none_button",
            ResolvedTitle => "resolved_title",
            ResolvedRating => "resolved_rating",
            ResolvedCall => "resolved_call",
            ResolvedNone => "resolved_none",
            ResolvedBeforeTitle => "resolved_before_title",
            ResolvedBeforeText => "resolved_before_text",
            InspectorFooter => "inspector_footer",
            ErrorExpiredTitle => "error_expired_title",
            ErrorExpired => "error_expired",
            ErrorBrokenLinkTitle => "error_broken_link_title",
            ErrorBrokenLink => "error_broken_link",
            ErrorNotFoundTitle => "error_not_found_title",
            ErrorNotFound => "error_not_found",
            ErrorTooLargeTitle => "error_too_large_title",
            ErrorTooLarge => "error_too_large",
            ErrorBadRequestTitle => "error_bad_request_title",
            ErrorBadRequest => "error_bad_request",
            ErrorBadRequestSms => "error_bad_request_sms",
            ErrorServerErrorTitle => "error_server_error_title",
            ErrorServerError => "error_server_error",
        }
    }

    fn blanks(self) -> &'static [&'static str] {
        match self {
            LandingText::RatingScore
            | LandingText::ResolvedRating
            | LandingText::AnsweredRating => &["rating"],
            LandingText::ContactLine => &["contact"],
            _ => &[],
        }
    }

    /// Ours, in Russian, Ukrainian and English: polite, plain, "we" for the shop.
    fn ours(self) -> [&'static str; 3] {
        use LandingText::*;
        match self {
            RatingTitle => [
                "Спасибо за вашу оценку",
                "Дякуємо за вашу оцінку",
                "Thank you for your rating",
            ],
            RatingYoursTitle => ["Ваша оценка", "Ваша оцінка", "Your rating"],
            RatingScore => ["{rating} из 5", "{rating} з 5", "{rating} out of 5"],
            RatingSaving => [
                "Сохраняем вашу оценку…",
                "Зберігаємо вашу оцінку…",
                "Saving your rating…",
            ],
            RatingFailed => [
                "Не получилось сохранить оценку — попробуйте, пожалуйста, ещё раз.",
                "Не вдалося зберегти оцінку — спробуйте, будь ласка, ще раз.",
                "We couldn't save your rating — please try again.",
            ],
            RatingHint => [
                "Нажмите, пожалуйста, кнопку: так мы поймём, что оценку поставили вы, а не \
                 почтовая программа.",
                "Натисніть, будь ласка, кнопку: так ми зрозуміємо, що оцінку поставили ви, а не \
                 поштова програма.",
                "Please tap the button: that's how we know the rating came from you and not from \
                 your mail app.",
            ],
            RatingButton => [
                "Подтвердить оценку",
                "Підтвердити оцінку",
                "Confirm my rating",
            ],
            ConfirmTitle => [
                "Подтвердите оценку",
                "Підтвердьте оцінку",
                "Please confirm your rating",
            ],
            ConfirmText => [
                "Почтовые программы иногда сами открывают ссылки из писем, чтобы их проверить. \
                 Такой случайный переход мы не хотим засчитывать, поэтому подтвердите, пожалуйста, \
                 что оценку поставили вы.",
                "Поштові програми іноді самі відкривають посилання з листів, щоб їх перевірити. \
                 Такий випадковий перехід ми не хочемо зараховувати, тож підтвердьте, будь ласка, \
                 що оцінку поставили ви.",
                "Mail apps sometimes open the links in an email by themselves to check them. To \
                 make sure we don't count such a visit, please confirm that the rating is yours.",
            ],
            ConfirmButton => [
                "Да, это моя оценка",
                "Так, це моя оцінка",
                "Yes, this is my rating",
            ],
            AnsweredTitle => ["Вы уже ответили", "Ви вже відповіли", "You've already answered"],
            AnsweredText => [
                "Мы уже получили ваш ответ на этот опрос — например, по другой ссылке из письма. \
                 Спасибо! Больше ничего делать не нужно.",
                "Ми вже отримали вашу відповідь на це опитування — наприклад, за іншим посиланням \
                 з листа. Дякуємо! Більше нічого робити не потрібно.",
                "We already have your answer to this survey — perhaps from another link in the \
                 email. Thank you! There's nothing more to do.",
            ],
            AnsweredRating => [
                "Записана ваша оценка: {rating} из 5.",
                "Записано вашу оцінку: {rating} з 5.",
                "Your recorded rating: {rating} out of 5.",
            ],
            ContactLine => [
                "Если ошиблись с оценкой или хотите что-то добавить, напишите нам на {contact} — \
                 ответит человек.",
                "Якщо помилилися з оцінкою або хочете щось додати, напишіть нам на {contact} — \
                 відповість людина.",
                "If you picked the wrong rating or want to add something, write to us at \
                 {contact} — a person will answer.",
            ],
            ThanksText => [
                "Нам очень приятно это слышать. Спасибо, что нашли минуту ответить — это правда \
                 помогает.",
                "Нам дуже приємно це чути. Дякуємо, що знайшли хвилинку відповісти — це справді \
                 допомагає.",
                "We're really glad to hear it. Thanks for taking a moment to answer — it truly \
                 helps.",
            ],
            ContactQuestion => [
                "Похоже, что-то было не так. Хотите, мы с вами свяжемся и во всём разберёмся?",
                "Схоже, щось було не так. Хочете, ми з вами зв'яжемося й у всьому розберемося?",
                "Sounds like something wasn't right. Would you like us to get in touch and sort it \
                 out?",
            ],
            // Asked before we know whether we have the customer's phone: "get in touch", never a
            // promised call; the page after "yes" says how (`CallBackText` / `CallBackTextEmail`).
            ContactYesButton => [
                "Да, свяжитесь со мной",
                "Так, зв'яжіться зі мною",
                "Yes, please get in touch",
            ],
            ContactNoButton => ["Нет, не нужно", "Ні, не потрібно", "No, thank you"],
            CommentIntro => [
                "Нам очень жаль. Мы уже передали вашу оценку в службу качества — там разберутся, \
                 что пошло не так.",
                "Нам дуже шкода. Ми вже передали вашу оцінку до служби якості — там розберуться, \
                 що пішло не так.",
                "We're very sorry. Your rating is already with our quality team, and they will \
                 find out what went wrong.",
            ],
            CommentLabel => [
                "Если хотите, расскажите, что случилось:",
                "Якщо хочете, розкажіть, що сталося:",
                "If you like, tell us what happened:",
            ],
            CommentButton => ["Отправить", "Надіслати", "Send"],
            CallBackTitle => [
                "Мы свяжемся с вами",
                "Ми зв'яжемося з вами",
                "We'll be in touch",
            ],
            CallBackHeading => ["Договорились", "Домовилися", "Agreed"],
            CallBackText => [
                "Мы перезвоним вам в ближайшее время и постараемся всё исправить.",
                "Ми зателефонуємо вам найближчим часом і постараємося все виправити.",
                "We'll call you soon and do our best to put things right.",
            ],
            CallBackTextEmail => [
                "Номера телефона у нас нет, поэтому мы напишем вам на почту и договоримся, как \
                 удобнее связаться.",
                "Номера телефону в нас немає, тому ми напишемо вам на пошту й домовимося, як \
                 зручніше зв'язатися.",
                "We don't have a phone number for you, so we'll email you to arrange the best way \
                 to talk.",
            ],
            CallBackNote => [
                "Спасибо, что дали нам такую возможность.",
                "Дякуємо, що дали нам таку можливість.",
                "Thank you for giving us the chance.",
            ],
            NoCallTitle => ["Спасибо за ответ", "Дякуємо за відповідь", "Thanks for your answer"],
            NoCallHeading => ["Понятно, спасибо", "Зрозуміло, дякуємо", "Understood, thank you"],
            NoCallText => [
                "Звонить не будем. Простите, что в этот раз не всё получилось так, как хотелось.",
                "Телефонувати не будемо. Вибачте, що цього разу не все вийшло так, як хотілося.",
                "We won't call. We're sorry things didn't go as they should have this time.",
            ],
            NoCallNote => [
                "Спасибо, что нашли время ответить.",
                "Дякуємо, що знайшли час відповісти.",
                "Thanks for taking the time to answer.",
            ],
            CommentSavedTitle => ["Комментарий отправлен", "Коментар надіслано", "Comment sent"],
            CommentSavedHeading => [
                "Спасибо, мы всё прочитаем",
                "Дякуємо, ми все прочитаємо",
                "Thank you, we'll read every word",
            ],
            CommentSavedText => [
                "Ваш комментарий получила служба качества. Нам жаль, что заказ вас расстроил.",
                "Ваш коментар отримала служба якості. Нам шкода, що замовлення вас засмутило.",
                "Our quality team has your comment. We're sorry the order let you down.",
            ],
            OptOutTitle => [
                "Отписка от писем",
                "Відписка від листів",
                "Unsubscribe from emails",
            ],
            OptOutHeading => [
                "Отписаться от писем?",
                "Відписатися від листів?",
                "Unsubscribe from these emails?",
            ],
            OptOutText => [
                "Иногда после покупки мы спрашиваем, как всё прошло. Если такие письма вам не \
                 нужны, нажмите кнопку — больше не будем их присылать.",
                "Іноді після покупки ми запитуємо, чи все було гаразд. Якщо такі листи вам не \
                 потрібні, натисніть кнопку — більше не надсилатимемо їх.",
                "After a purchase we sometimes ask how it went. If you'd rather not get these \
                 emails, tap the button and we'll stop sending them.",
            ],
            OptOutButton => ["Отписаться", "Відписатися", "Unsubscribe"],
            OptedOutTitle => ["Вы отписались", "Ви відписалися", "You're unsubscribed"],
            OptedOutHeading => [
                "Готово, вы отписались",
                "Готово, ви відписалися",
                "Done, you're unsubscribed",
            ],
            OptedOutText => [
                "Больше не будем присылать вам вопросы о заказах.",
                "Більше не надсилатимемо вам запитань про замовлення.",
                "We won't send you questions about your orders any more.",
            ],
            Footer => [
                "Если что-то непонятно, просто ответьте на наше письмо.",
                "Якщо щось незрозуміло, просто дайте відповідь на наш лист.",
                "If anything is unclear, just reply to our email.",
            ],
            AskTitle => [
                "Как вам заказ?",
                "Як вам замовлення?",
                "How was your order?",
            ],
            AskText => [
                "Нажмите на оценку: 5 — всё отлично, 1 — всё плохо.",
                "Натисніть на оцінку: 5 — усе чудово, 1 — усе погано.",
                "Tap a rating: 5 means excellent, 1 means poor.",
            ],
            SmsFooter => [
                "Ссылку на эту страницу мы прислали вам в SMS.",
                "Посилання на цю сторінку ми надіслали вам в SMS.",
                "We sent you the link to this page by text message.",
            ],
            ResolveTitle => [
                "Что ответил покупатель?",
                "Що відповів покупець?",
                "What did the customer mean?",
            ],
            ResolveText => [
                "Ответ покупателя не удалось прочитать как оценку; его слова — в задаче в \
                 retailCRM. Выберите, что он имел в виду: дальше всё пойдёт так, как если бы он \
                 ответил сам (оценка в заказе, рекламация при 1–2, сообщение покупателю). Выбор \
                 записывается один раз.",
                "Відповідь покупця не вдалося прочитати як оцінку; його слова — у завданні в \
                 retailCRM. Виберіть, що він мав на увазі: далі все піде так, ніби він відповів \
                 сам (оцінка в замовленні, рекламація при 1–2, повідомлення покупцеві). Вибір \
                 записується один раз.",
                "We couldn't read the customer's answer as a rating; their words are in the \
                 retailCRM task. Choose what they meant: everything then runs as if they had \
                 answered themselves (the rating on the order, a complaint for 1–2, a message to \
                 the customer). The choice is recorded once.",
            ],
            ResolveCallButton => [
                "Просит перезвонить",
                "Просить передзвонити",
                "Wants a call back",
            ],
            ResolveNoneButton => ["Это не оценка", "Це не оцінка", "Not a rating"],
            ResolvedTitle => ["Записано", "Зафіксовано", "Recorded"],
            ResolvedRating => [
                "Оценка {rating} записана, как если бы покупатель поставил её сам.",
                "Оцінку {rating} записано, ніби покупець поставив її сам.",
                "Rating {rating} is recorded, as if the customer had given it.",
            ],
            ResolvedCall => [
                "Покупатель просит перезвонить: рекламация создана, покупателю написали, что с \
                 ним свяжутся.",
                "Покупець просить передзвонити: рекламацію створено, покупцеві написали, що з ним \
                 зв'яжуться.",
                "The customer wants a call: a complaint is open, and the customer has been told \
                 someone will get in touch.",
            ],
            ResolvedNone => [
                "Отмечено, что это не оценка. Опрос ждёт ответа покупателя, как и раньше; \
                 ответить ему можно из задачи.",
                "Позначено, що це не оцінка. Опитування чекає на відповідь покупця, як і раніше; \
                 відповісти йому можна із завдання.",
                "Marked as not a rating. The survey still waits for the customer's answer; reply \
                 to them from the task.",
            ],
            ResolvedBeforeTitle => ["Уже решено", "Уже вирішено", "Already settled"],
            ResolvedBeforeText => [
                "По этому опросу решать уже нечего: покупатель ответил сам, или выбор уже \
                 сделан. Повторно ничего не записано.",
                "У цьому опитуванні вирішувати вже нічого: покупець відповів сам або вибір уже \
                 зроблено. Повторно нічого не записано.",
                "There is nothing left to decide for this survey: the customer answered \
                 themselves, or the choice was already made. Nothing was recorded again.",
            ],
            InspectorFooter => [
                "Страница для сотрудника магазина: ссылка из задачи в retailCRM.",
                "Сторінка для працівника магазину: посилання із завдання в retailCRM.",
                "A page for the shop's staff, linked from a retailCRM task.",
            ],
            ErrorExpiredTitle => ["Ссылка устарела", "Посилання застаріло", "This link has expired"],
            ErrorExpired => [
                "Срок действия этой ссылки истёк, но если хотите рассказать, как прошёл заказ, \
                 напишите нам — мы прочитаем.",
                "Строк дії цього посилання минув, але якщо хочете розповісти про замовлення, \
                 напишіть нам — ми прочитаємо.",
                "This link has expired, but if you'd like to tell us how your order went, write \
                 to us — we'll read it.",
            ],
            ErrorBrokenLinkTitle => [
                "Ссылка не открылась",
                "Посилання не відкрилося",
                "The link didn't open",
            ],
            ErrorBrokenLink => [
                "Ссылка повреждена — возможно, она скопировалась из письма не целиком.",
                "Посилання пошкоджене — можливо, воно скопіювалося з листа не повністю.",
                "The link is damaged — perhaps only part of it was copied from the email.",
            ],
            ErrorNotFoundTitle => ["Страница не найдена", "Сторінку не знайдено", "Page not found"],
            ErrorNotFound => [
                "Такой страницы у нас нет.",
                "Такої сторінки в нас немає.",
                "We don't have a page like that.",
            ],
            ErrorTooLargeTitle => [
                "Слишком длинный текст",
                "Задовгий текст",
                "The text is too long",
            ],
            ErrorTooLarge => [
                "Текст получился слишком длинным — сократите его, пожалуйста.",
                "Текст вийшов задовгим — скоротіть його, будь ласка.",
                "The text came out too long — please make it shorter.",
            ],
            ErrorBadRequestTitle | ErrorServerErrorTitle => [
                "Что-то пошло не так",
                "Щось пішло не так",
                "Something went wrong",
            ],
            ErrorBadRequest => [
                "Не получилось разобрать запрос — откройте, пожалуйста, ссылку из письма ещё раз.",
                "Не вдалося розібрати запит — відкрийте, будь ласка, посилання з листа ще раз.",
                "We couldn't make sense of that request — please open the link from the email \
                 again.",
            ],
            ErrorBadRequestSms => [
                "Не получилось разобрать запрос — откройте, пожалуйста, ссылку из SMS ещё раз.",
                "Не вдалося розібрати запит — відкрийте, будь ласка, посилання з SMS ще раз.",
                "We couldn't make sense of that request — please open the link from the text \
                 message again.",
            ],
            ErrorServerError => [
                "У нас что-то сломалось — попробуйте, пожалуйста, чуть позже.",
                "У нас щось зламалося — спробуйте, будь ласка, трохи пізніше.",
                "Something broke on our side — please try again a little later.",
            ],
        }
    }
}
