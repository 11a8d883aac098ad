//! Step two of reading a reply: what each word and symbol means to the parser. The word lists
//! (number words, grades, sentiment, yes/no, units, opt-out and question words, pleasantries) are
//! kept as space-separated text so they read like a dictionary; `lex` turns tokens into meanings.

use super::normalize::{Tok, TokKind};

/// Single words that always mean "stop messaging me", wherever they stand.
pub(super) const OPT_OUT_WORDS: &str =
    "отписаться отпишите отпишитесь отписка отписываюсь отписать \
    відписатися відпишіть відпишіться відписка unsubscribe unsub optout opt-out";

/// Phrases that mean the same (matched on whole words, anywhere in the message).
pub(super) const OPT_OUT_PHRASES: &[&str] = &[
    "не пишите",
    "не писать мне",
    "больше не писать",
    "не надо мне писать",
    "не надо писать",
    "не нужно писать",
    "не нужно мне писать",
    "хватит писать",
    "хватит мне писать",
    "перестаньте писать",
    "перестаньте мне писать",
    "не присылайте",
    "не беспокойте",
    "не пишіть",
    "не треба писати",
    "не турбуйте",
    "opt out",
    "stop messaging",
    "stop texting",
    "stop writing",
    "don't message",
    "dont message",
    "do not message",
    "don't text",
    "do not text",
    "don't contact",
    "do not contact",
    "don't write",
    "do not write",
];

/// "стоп" is an opt-out only on its own ("СТОП!", "стоп, пожалуйста", even "стоп 5": an opt-out
/// we miss is spam, a rating we miss is one survey): inside a sentence it is a word like any other
/// ("стоп-кран сломался").
pub(super) const OPT_OUT_ALONE: &str = "стоп stop";
pub(super) const OPT_OUT_POLITE: &str = "пожалуйста please все уже будь ласка";

/// Any of these anywhere makes a message a question.
pub(super) const QUESTION_MARKS: [char; 4] = ['?', '¿', '❓', '❔'];

/// Openers skipped before looking for a question word: "а где заказ" asks as much as "где заказ".
pub(super) const QUESTION_LEAD_INS: &str = "а и ну но і але so and but";

/// A message that opens with one of these asks something, question mark or not.
pub(super) const QUESTION_WORDS: &str = "где когда почему зачем сколько куда откуда кто \
    де коли чому навіщо скільки куди хто where when why who";

/// What a word or symbol means to the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lx {
    /// A digit run (value and text are on the item).
    Num,
    /// A cardinal number word: "пять", "п'ять", "five".
    Card(u64),
    /// A school-grade noun: "пятёрка", "кол", "четвірка".
    Grade(u64),
    /// A sentiment word and the rating it stands for.
    Sent(u64),
    Yes,
    /// "конечно", "sure": yes on its own, an intensifier next to a no ("конечно нет").
    YesWeak,
    No,
    /// "баллов", "звёзд", "stars": may follow a rating.
    Unit,
    /// "оценка", "ставлю", "на": may precede a rating.
    Cue,
    /// "из", "of", "з": "4 из 5".
    ScaleOf,
    Currency,
    TimeUnit,
    Month,
    /// "в", "к", "после": "в 5" is a time.
    TimePrep,
    OrderWord,
    Hedge,
    Not,
    Plus,
    Minus,
    /// Politeness, greetings, particles: known, harmless words.
    Filler,
    /// "позвоните", "звонок": fine next to a yes/no.
    Call,
    /// "всё ок": fine, or "no need to call"? Never a decision on its own.
    Ambiguous,
    Unknown,
    Star,
    EmptyStar,
    Asterisk,
    Slash,
    Dash,
    Hash,
    CurrencySym,
    Percent,
    Other,
}

const LEXICON: &[(Lx, &str)] = &[
    (Lx::Card(0), "ноль нуль zero"),
    (Lx::Card(1), "один одна одну one"),
    (Lx::Card(2), "два две дві two"),
    (Lx::Card(3), "три three"),
    (Lx::Card(4), "четыре чотири four"),
    (Lx::Card(5), "пять пяти п'ять п'яти five"),
    (Lx::Card(6), "шесть шість six"),
    (Lx::Card(7), "семь сім seven"),
    (Lx::Card(8), "восемь вісім eight"),
    (Lx::Card(9), "девять дев'ять nine"),
    (Lx::Card(10), "десять десяти ten"),
    (Lx::Card(100), "сто hundred"),
    (
        Lx::Grade(1),
        "кол единица единицу единичка единичку одиниця одиницю одиничка одиничку",
    ),
    (
        Lx::Grade(2),
        "двойка двойку двоечка двоечку двояк двійка двійку двієчка двієчку",
    ),
    (
        Lx::Grade(3),
        "тройка тройку троечка троечку трояк трояка трійка трійку трієчка трієчку",
    ),
    (
        Lx::Grade(4),
        "четверка четверку четверочка четверочку четвірка четвірку четвірочка \
        четвірочку",
    ),
    (
        Lx::Grade(5),
        "пятерка пятерку пятерочка пятерочку п'ятірка п'ятірку п'ятірочка п'ятірочку \
        пятірка пятірку",
    ),
    (
        Lx::Sent(5),
        "отлично отличненько супер суперски прекрасно замечательно великолепно \
        идеально превосходно шикарно класс классно круто чудесно відмінно чудово ідеально класно \
        perfect excellent great awesome amazing super fantastic wonderful",
    ),
    (Lx::Sent(4), "хорошо неплохо добре непогано гарно good nice"),
    (
        Lx::Sent(3),
        "нормально норм нормас средне сойдет пойдет посередньо so-so average",
    ),
    (Lx::Sent(2), "плохо погано слабо bad poor"),
    (
        Lx::Sent(1),
        "ужасно ужас кошмар отвратительно отвратно жуть мерзко жахливо жах огидно \
        terrible awful horrible",
    ),
    (
        Lx::Yes,
        "да ага угу можно давайте давай ок окей оке оки ok okay ладно хочу согласен \
        согласна так авжеж можна згоден згодна yes yep yeah yup",
    ),
    (
        Lx::YesWeak,
        "конечно обязательно звісно звичайно sure certainly",
    ),
    (Lx::No, "нет неа не-а ненадо ненужно ні no nope nah"),
    (
        Lx::Unit,
        "балл балла баллов баллы бал бала балов балів бали звезд звезды звезда звезду \
        звездочки звездочек звездочку зірок зірки зірка зірку зірочок star stars point points",
    ),
    (
        Lx::Cue,
        "на оценка оценку оценкой оцениваю оценил оценила оценим ставлю поставлю поставил \
        поставила ставим даю оцінка оцінку оцінюю rating rate score give",
    ),
    (Lx::ScaleOf, "из of з із зі"),
    (
        Lx::Currency,
        "руб рубль рубля рублей р rub rur грн гривен гривень гривні гривня гривна \
        гривны uah тенге тг kzt usd долларов доллара доллар баксов бакса dollars dollar bucks \
        eur euro евро євро сум сумов коп копеек тыс тысяч тысячи тыщ тр",
    ),
    (
        Lx::TimeUnit,
        "час часа часов часу часам ч мин минут минуты минуту сек секунд вечера утра \
        ночи дня am pm h hr hrs hour hours min mins minutes годин години година годину хвилин \
        хвилини хвилину ранку вечора ночі",
    ),
    (
        Lx::Month,
        "января февраля марта апреля мая июня июля августа сентября октября ноября \
        декабря январь февраль март апрель май июнь июль август сентябрь октябрь ноябрь декабрь \
        січня лютого березня квітня травня червня липня серпня вересня жовтня листопада грудня \
        january february march april may june july august september october november december \
        jan feb mar apr jun jul aug sep sept oct nov dec",
    ),
    (
        Lx::TimePrep,
        "в во к ко после до через at о об після близько",
    ),
    (
        Lx::OrderWord,
        "заказ заказа заказе заказу заказом номер номером order замовлення трек \
        track артикул",
    ),
    (
        Lx::Hedge,
        "бы б если якби би якщо would if скорее скорей вероятно пожалуй почти майже \
        almost максимум минимум больше меньше более менее more less більше менше около примерно \
        приблизно наверное наверно может возможно мабуть може maybe probably где-то чем than ніж",
    ),
    (Lx::Not, "не not"),
    (Lx::Plus, "плюс плюсом plus"),
    (
        Lx::Minus,
        "минус минусом мінус мінусом minus половиной половинкой половина половиною half",
    ),
    (
        Lx::Call,
        "звоните позвоните перезвоните звонить позвонить перезвонить наберите набирайте \
        звонок звонка жду call дзвоніть подзвоніть зателефонуйте телефонуйте передзвоніть \
        дзвонити чекаю",
    ),
    (
        Lx::Filler,
        "спасибо спасибки спасибочки спасиб спс пасиб благодарю благодарим большое \
        огромное вам вас тебе пожалуйста пожалуйсто плиз пжл пж please pls plz thanks thank thx \
        ty you дякую дякуємо щиро дуже будь ласка все всем весь вся было была был были очень \
        просто вполне целом общем и или а но же вот ну еще уже мой моя мое мне меня я мы нам нас \
        это my i me it it's is was the a an and or but very all everything і й та або але було \
        була був мені мене моя здравствуйте здрасте добрый доброго добрий день вечер утро привет \
        приветствую вітаю привіт hello hi хорошего всего между с от за твердая твердую твердо \
        уверенная уверенную крепкая крепкую чистая чистую заслуженная заслуженную тоже также \
        думаю solid по возможных можливих",
    ),
];

/// Two-word expressions whose meaning is not the sum of their words.
const PHRASES: &[(Lx, &str, &str)] = &[
    (Lx::Sent(3), "так", "себе"),
    (Lx::Sent(3), "так", "собі"),
    (Lx::No, "не", "надо"),
    (Lx::No, "не", "нужно"),
    (Lx::No, "не", "стоит"),
    (Lx::No, "не", "хочу"),
    (Lx::No, "не", "треба"),
    (Lx::No, "не", "потрібно"),
    (Lx::ScaleOf, "out", "of"),
    (Lx::Filler, "thank", "you"),
    (Lx::Filler, "в", "целом"),
    (Lx::Filler, "в", "общем"),
    (Lx::Filler, "до", "свидания"),
    (Lx::YesWeak, "of", "course"),
    (Lx::Plus, "с", "плюсом"),
    (Lx::Minus, "с", "минусом"),
    (Lx::Ambiguous, "все", "ок"),
    (Lx::Ambiguous, "все", "окей"),
    (Lx::Ambiguous, "все", "ok"),
    (Lx::Ambiguous, "все", "норм"),
    (Lx::Ambiguous, "в", "порядке"),
    (Lx::Ambiguous, "all", "ok"),
    (Lx::Ambiguous, "all", "good"),
];

/// What a digit glued to a Russian/Ukrainian ending still means as a grade: "5ка", "5-ку", "5ть",
/// "из 5-ти".
pub(super) const GRADE_SUFFIXES: &str =
    "ка ку ке ки кой очка очку ерка ерку ерочка ерочку ть ти ірка ірку";

pub(super) const PLEASANT_CORE: &str =
    "спасибо спасибки спасибочки спасиб спс пасиб благодарю благодарим \
    благодарна благодарен мерси thanks thank thx ty дякую дякуємо ок окей ok okay хорошо ладно \
    понятно понял поняла ясно принято отлично супер класс cheers свидания побачення";

pub(super) const PLEASANT_EXTRA: &str =
    "большое огромное вам вас тебе и а ну вот всего доброго хорошего \
    дня вечера до пожалуйста за помощь все you very much so a lot щиро дуже гарного і";

pub(super) const PLEASANT_EMOJI: &[char] = &[
    '🙏', '👍', '👌', '❤', '♥', '💐', '🌹', '🌷', '🌸', '😊', '☺', '🙂', '😉', '🤝', '💖', '💕',
    '😘', '🥰', '🤗', '👏', '✨',
];

/// Whether `word` is one of the space-separated words of `list` (word lists are kept as text so
/// they read like a dictionary rather than a column of quotes).
pub(super) fn listed(list: &str, word: &str) -> bool {
    list.split_whitespace().any(|w| w == word)
}

fn lookup(word: &str) -> Option<Lx> {
    LEXICON
        .iter()
        .find(|(_, words)| listed(words, word))
        .map(|(lx, _)| *lx)
}

fn word_lx(word: &str) -> Lx {
    if let Some(lx) = lookup(word) {
        return lx;
    }
    // "да-да", "нет-нет-нет": a repeated word means the word.
    if let Some((head, rest)) = word.split_once('-') {
        if rest.split('-').all(|p| p == head) {
            return lookup(head).unwrap_or(Lx::Unknown);
        }
    }
    Lx::Unknown
}

fn sym_lx(c: char) -> Lx {
    match c {
        '⭐' | '🌟' | '★' => Lx::Star,
        '☆' => Lx::EmptyStar,
        '*' => Lx::Asterisk,
        '/' => Lx::Slash,
        '-' => Lx::Dash,
        '#' => Lx::Hash,
        '$' | '€' | '£' | '₽' | '₴' | '₸' | '¥' | '₼' | '₾' => Lx::CurrencySym,
        '%' | '‰' | '°' => Lx::Percent,
        '👍' | '👌' | '✅' | '✔' | '☑' => Lx::Yes,
        '👎' | '❌' => Lx::No,
        '🤔' => Lx::Hedge,
        _ => Lx::Other,
    }
}

/// Emoji that say how the customer feels; used only to veto a digit that says the opposite.
pub(super) fn emoji_polarity(c: char) -> i8 {
    match c {
        '❤' | '♥' | '😍' | '🥰' | '😊' | '☺' | '😀' | '😃' | '😁' | '🔥' | '👏' | '💯' | '💖'
        | '💕' | '🤩' | '😘' => 1,
        '😡' | '🤬' | '😠' | '😞' | '😢' | '😭' | '💩' | '😤' | '😒' | '🙁' | '☹' | '😣' | '😫'
        | '👎' => -1,
        _ => 0,
    }
}

/// A number, but not a point on the 1–5 scale ("05", the 7 in "7 из 10").
pub(super) const OFF_SCALE: u64 = u64::MAX;

/// The value of a digit run; a leading zero ("05") is nobody's way of writing a rating.
pub(super) fn digit_value(s: &str) -> u64 {
    if s.len() > 1 && s.starts_with('0') {
        return OFF_SCALE;
    }
    s.bytes().fold(0u64, |acc, b| {
        acc.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    })
}

/// A token with its meaning: what the reading step works on.
#[derive(Debug, Clone)]
pub(super) struct Item {
    pub(super) lx: Lx,
    pub(super) text: String,
    /// For `Lx::Num`: the digit run's value.
    pub(super) value: u64,
    pub(super) glued: bool,
    pub(super) word: bool,
}

/// Looks every token up; a known two-word phrase ("так себе", "с плюсом") becomes one item.
pub(super) fn lex(toks: &[Tok]) -> Vec<Item> {
    let mut items = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let tok = &toks[i];
        let mut item = Item {
            lx: Lx::Other,
            text: tok.text.clone(),
            value: 0,
            glued: tok.glued,
            word: tok.kind == TokKind::Word,
        };
        match tok.kind {
            TokKind::Num => {
                item.lx = Lx::Num;
                item.value = digit_value(&tok.text);
            }
            TokKind::Sym => item.lx = sym_lx(tok.text.chars().next().unwrap_or(' ')),
            TokKind::Word => {
                let phrase = toks
                    .get(i + 1)
                    .filter(|n| n.kind == TokKind::Word)
                    .and_then(|n| {
                        PHRASES
                            .iter()
                            .find(|(_, a, b)| *a == tok.text && *b == n.text)
                    });
                if let Some((lx, a, b)) = phrase {
                    item.lx = *lx;
                    item.text = format!("{a} {b}");
                    items.push(item);
                    i += 2;
                    continue;
                }
                item.lx = word_lx(&tok.text);
            }
        }
        items.push(item);
        i += 1;
    }
    items
}
