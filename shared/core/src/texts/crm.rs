//! The texts we write into retailCRM, for the inspector and the managers: task titles and
//! commentary, the notification, the complaint order's comment, the reminder. Keys and our own
//! wording live here, so `[texts.crm.<lang>]` can name them; [`crate::crm_texts`] fills them in.

use serde::{Deserialize, Serialize};

use super::{parse_key, Wording};

/// One text we write into retailCRM. Blanks in braces (`{order}`) are filled in when it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
// Read through a string so that a config error names the key it is about.
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum CrmText {
    /// Task title: the customer's answer could not be read.
    NoticeUnreadableReply,
    /// Task title: the customer wrote after the survey closed, maybe about a new problem.
    NoticeNewProblem,
    /// Task title: the customer wrote before we asked anything.
    NoticeUnprompted,
    /// Task title: the customer edited an answer already read as a rating, and it reads
    /// differently now.
    NoticeEditedAfterRating,
    /// The task's commentary: what the customer wrote.
    NoticeCommentary,
    /// The notification that points the inspector at the task.
    NoticeNotification,
    /// The task's last line for an answer we could not read: the inspector's one-click page.
    NoticeResolveLink,
    /// The complaint order's manager comment, first line: the rating and the original order.
    ComplaintComment,
    /// The manager comment's second line when the customer wrote something.
    ComplaintWords,
    /// The manager comment's second line when the customer only rated (so far).
    ComplaintNoWords,
    /// The manager comment's last line after a 3 and "yes": the customer asks for a call.
    ComplaintCallback,
    /// The comment of the link between the rated order and its complaint.
    ComplaintLink,
    /// Title of the reminder task for a complaint nobody has taken into work.
    ReminderTitle,
    /// The reminder task's commentary.
    ReminderCommentary,
    /// The name of the order's read-only rating field, as `otklik crm-setup` creates it.
    RatingFieldName,
    /// The name of the order's field for the customer's own words.
    WordsFieldName,
}

impl TryFrom<String> for CrmText {
    type Error = String;

    fn try_from(key: String) -> Result<Self, String> {
        parse_key(&key)
    }
}

impl Wording for CrmText {
    const TABLE: &'static str = "crm";
    const ALL: &'static [CrmText] = &[
        CrmText::NoticeUnreadableReply,
        CrmText::NoticeNewProblem,
        CrmText::NoticeUnprompted,
        CrmText::NoticeEditedAfterRating,
        CrmText::NoticeCommentary,
        CrmText::NoticeNotification,
        CrmText::NoticeResolveLink,
        CrmText::ComplaintComment,
        CrmText::ComplaintWords,
        CrmText::ComplaintNoWords,
        CrmText::ComplaintCallback,
        CrmText::ComplaintLink,
        CrmText::ReminderTitle,
        CrmText::ReminderCommentary,
        CrmText::RatingFieldName,
        CrmText::WordsFieldName,
    ];

    fn key(self) -> &'static str {
        match self {
            CrmText::NoticeUnreadableReply => "notice_unreadable_reply",
            CrmText::NoticeNewProblem => "notice_new_problem",
            CrmText::NoticeUnprompted => "notice_unprompted",
            CrmText::NoticeEditedAfterRating => "notice_edited_after_rating",
            CrmText::NoticeCommentary => "notice_commentary",
            CrmText::NoticeNotification => "notice_notification",
            CrmText::NoticeResolveLink => "notice_resolve_link",
            CrmText::ComplaintComment => "complaint_comment",
            CrmText::ComplaintWords => "complaint_words",
            CrmText::ComplaintNoWords => "complaint_no_words",
            CrmText::ComplaintCallback => "complaint_callback",
            CrmText::ComplaintLink => "complaint_link",
            CrmText::ReminderTitle => "reminder_title",
            CrmText::ReminderCommentary => "reminder_commentary",
            CrmText::RatingFieldName => "rating_field_name",
            CrmText::WordsFieldName => "words_field_name",
        }
    }

    fn blanks(self) -> &'static [&'static str] {
        match self {
            CrmText::NoticeUnreadableReply
            | CrmText::NoticeNewProblem
            | CrmText::NoticeUnprompted
            | CrmText::NoticeEditedAfterRating
            | CrmText::ComplaintNoWords
            | CrmText::ComplaintCallback
            | CrmText::RatingFieldName
            | CrmText::WordsFieldName => &[],
            CrmText::NoticeCommentary | CrmText::ComplaintWords => &["words"],
            CrmText::NoticeNotification => &["title", "order"],
            CrmText::NoticeResolveLink => &["link"],
            CrmText::ComplaintComment => &["rating", "order"],
            CrmText::ComplaintLink => &["rating"],
            CrmText::ReminderTitle => &["order"],
            CrmText::ReminderCommentary => &["opened_at"],
        }
    }

    /// Ours, in Russian, Ukrainian and English. The product's name opens a task title so a
    /// manager sees at once where the task came from; outside Russian it is the name "Otklik".
    fn ours(self) -> [&'static str; 3] {
        match self {
            CrmText::NoticeUnreadableReply => [
                "Отклик: ответ покупателя не распознан — прочитайте",
                "Otklik: відповідь покупця не розпізнано — прочитайте",
                "Otklik: couldn't read the customer's reply — please check",
            ],
            CrmText::NoticeNewProblem => [
                "Отклик: покупатель написал после опроса — похоже на новую проблему",
                "Otklik: покупець написав після опитування — схоже на нову проблему",
                "Otklik: the customer wrote after the survey — looks like a new problem",
            ],
            CrmText::NoticeUnprompted => [
                "Отклик: покупатель написал до нашего вопроса",
                "Otklik: покупець написав до нашого запитання",
                "Otklik: the customer wrote before we asked anything",
            ],
            CrmText::NoticeEditedAfterRating => [
                "Отклик: покупатель исправил ответ после оценки — проверьте оценку",
                "Otklik: покупець виправив відповідь після оцінки — перевірте оцінку",
                "Otklik: the customer edited their answer after it was rated — please check the rating",
            ],
            CrmText::NoticeResolveLink => [
                "Что имел в виду покупатель? Отметьте в один клик оценку, «просит перезвонить» \
                 или «это не оценка» — и всё пойдёт так, будто он ответил сам: {link}",
                "Що мав на увазі покупець? Позначте одним кліком оцінку, «просить передзвонити» \
                 або «це не оцінка» — і все піде так, ніби він відповів сам: {link}",
                "What did the customer mean? Mark it in one click — a rating, “wants a call” or \
                 “not a rating” — and everything runs as if they had answered: {link}",
            ],
            CrmText::NoticeCommentary => [
                "Покупатель написал: «{words}»",
                "Покупець написав: «{words}»",
                "The customer wrote: “{words}”",
            ],
            CrmText::NoticeNotification => [
                "{title}: заказ {order}. Задача уже в списке.",
                "{title}: замовлення {order}. Завдання вже у списку.",
                "{title}: order {order}. The task is already in your list.",
            ],
            CrmText::ComplaintComment => [
                "Оценка покупателя: {rating} из 5 (заказ {order}).",
                "Оцінка покупця: {rating} з 5 (замовлення {order}).",
                "Customer's rating: {rating} out of 5 (order {order}).",
            ],
            CrmText::ComplaintWords => [
                "Слова покупателя: «{words}»",
                "Слова покупця: «{words}»",
                "Customer's words: “{words}”",
            ],
            CrmText::ComplaintNoWords => [
                "Покупатель пока поставил только оценку; если он что-то напишет, это появится в поле со словами покупателя.",
                "Покупець поки що поставив лише оцінку; якщо він щось напише, це з'явиться в полі зі словами покупця.",
                "So far the customer has only given a rating; anything they write will appear in the customer's words field.",
            ],
            CrmText::ComplaintCallback => [
                "Покупатель просит ему перезвонить.",
                "Покупець просить йому зателефонувати.",
                "The customer asks to be called back.",
            ],
            CrmText::ComplaintLink => [
                "Рекламация по оценке {rating} из 5",
                "Рекламація за оцінкою {rating} з 5",
                "Complaint after a rating of {rating} out of 5",
            ],
            CrmText::ReminderTitle => [
                "Рекламация №{order} ждёт ответа",
                "Рекламація №{order} чекає на відповідь",
                "Complaint #{order} is waiting for a reply",
            ],
            CrmText::ReminderCommentary => [
                "Рекламация открыта {opened_at} и всё ещё в статусе «создана». Покупатель ждёт \
                 звонка: возьмите её в работу.",
                "Рекламацію відкрито {opened_at}, і вона досі в статусі «створена». Покупець чекає \
                 на дзвінок: візьміть її в роботу.",
                "This complaint was opened {opened_at} and is still in the “created” status. The \
                 customer is waiting for a call: please take it on.",
            ],
            CrmText::RatingFieldName => [
                "Оценка покупателя",
                "Оцінка покупця",
                "Customer rating",
            ],
            CrmText::WordsFieldName => ["Слова покупателя", "Слова покупця", "Customer's words"],
        }
    }
}
