//! The mailbox's texts, German and English. Adding a field forces both translations.

use rathaus_domain::Lang;

#[derive(Debug)]
pub(crate) struct MailboxTexts {
    pub nav: &'static str,
    pub title: &'static str,
    pub intro: &'static str,
    pub empty: &'static str,
    pub unread_one: &'static str,
    pub unread_many: &'static str,
    pub unread_badge: &'static str,
    pub col_subject: &'static str,
    pub col_from: &'static str,
    pub col_received: &'static str,
    pub you: &'static str,
    pub application_label: &'static str,
    pub reference_label: &'static str,
    pub decision_badge: &'static str,
    pub files_title: &'static str,
    pub download: &'static str,
    pub back: &'static str,
    pub reply_title: &'static str,
    pub reply_intro: &'static str,
    pub reply_text: &'static str,
    pub reply_files: &'static str,
    pub reply_files_hint: &'static str,
    pub reply_button: &'static str,
    pub reply_sent: &'static str,
    pub reply_subject_prefix: &'static str,
    pub err_text: &'static str,
    pub err_files: &'static str,
    pub err_scan: &'static str,
    pub error_summary_title: &'static str,
    pub file_label: &'static str,
    pub state_pending: &'static str,
    pub state_delivered: &'static str,
    pub state_dead: &'static str,
    pub no_reply: &'static str,
}

pub(crate) static DE: MailboxTexts = MailboxTexts {
    nav: "Postfach",
    title: "Postfach",
    intro: "Nachrichten der Behörden zu Ihren Anträgen und Ihre Antworten. Nachrichten werden nach {days} Tagen gelöscht; laden Sie Bescheide herunter, die Sie aufbewahren möchten.",
    empty: "Ihr Postfach ist leer.",
    unread_one: "1 ungelesene Nachricht",
    unread_many: "{n} ungelesene Nachrichten",
    unread_badge: "Neu",
    col_subject: "Betreff",
    col_from: "Von",
    col_received: "Eingegangen",
    you: "Sie",
    application_label: "Antrag",
    reference_label: "Aktenzeichen",
    decision_badge: "Bescheid",
    files_title: "Anlagen",
    download: "herunterladen",
    back: "Zurück zum Postfach",
    reply_title: "Antworten",
    reply_intro: "Ihre Antwort wird verschlüsselt an die Behörde gesendet. Nur die Behörde kann sie lesen.",
    reply_text: "Ihre Antwort",
    reply_files: "Anlagen (optional)",
    reply_files_hint: "Bis zu 5 Dateien (PDF, PNG oder JPEG), je höchstens 10 MB, zusammen höchstens 20 MB.",
    reply_button: "Antwort senden",
    reply_sent: "Ihre Antwort wurde gespeichert und wird an die Behörde gesendet.",
    reply_subject_prefix: "AW: ",
    err_text: "Bitte schreiben Sie eine Antwort mit höchstens 20.000 Zeichen.",
    err_files: "Höchstens 5 Anlagen, zusammen höchstens 20 MB.",
    err_scan: "Eine Datei enthält Schadsoftware oder konnte gerade nicht geprüft werden und wurde nicht angenommen.",
    error_summary_title: "Bitte prüfen Sie Ihre Eingaben",
    file_label: "Anlage",
    state_pending: "wird an die Behörde gesendet",
    state_delivered: "bei der Behörde eingegangen",
    state_dead: "konnte nicht zugestellt werden; bitte wenden Sie sich direkt an die Behörde",
    no_reply: "Auf diesen Antrag kann hier nicht mehr geantwortet werden.",
};

pub(crate) static EN: MailboxTexts = MailboxTexts {
    nav: "Mailbox",
    title: "Mailbox",
    intro: "Messages from the authorities about your applications, and your replies. Messages are deleted after {days} days; download decisions you want to keep.",
    empty: "Your mailbox is empty.",
    unread_one: "1 unread message",
    unread_many: "{n} unread messages",
    unread_badge: "New",
    col_subject: "Subject",
    col_from: "From",
    col_received: "Received",
    you: "You",
    application_label: "Application",
    reference_label: "Reference",
    decision_badge: "Decision",
    files_title: "Attachments",
    download: "download",
    back: "Back to the mailbox",
    reply_title: "Reply",
    reply_intro: "Your reply is sent to the authority encrypted. Only the authority can read it.",
    reply_text: "Your reply",
    reply_files: "Attachments (optional)",
    reply_files_hint: "Up to 5 files (PDF, PNG or JPEG), at most 10 MB each and 20 MB together.",
    reply_button: "Send reply",
    reply_sent: "Your reply was saved and is being sent to the authority.",
    reply_subject_prefix: "Re: ",
    err_text: "Please write a reply of at most 20,000 characters.",
    err_files: "At most 5 attachments, 20 MB together.",
    err_scan: "A file contains malware or could not be checked just now and was not accepted.",
    error_summary_title: "Please check your input",
    file_label: "Attachment",
    state_pending: "being sent to the authority",
    state_delivered: "received by the authority",
    state_dead: "could not be delivered; please contact the authority directly",
    no_reply: "You can no longer reply to this application here.",
};

pub(crate) fn texts(lang: Lang) -> &'static MailboxTexts {
    match lang {
        Lang::De => &DE,
        Lang::En => &EN,
    }
}

impl MailboxTexts {
    /// "3 ungelesene Nachrichten"; empty for none.
    pub fn unread(&self, n: u64) -> String {
        match n {
            0 => String::new(),
            1 => self.unread_one.to_owned(),
            n => self.unread_many.replace("{n}", &n.to_string()),
        }
    }
}
