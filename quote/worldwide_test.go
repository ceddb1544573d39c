package quote

import (
	"strings"
	"testing"
)

// The attribution lines below are written in the formats the clients use
// in each language (Gmail, Apple Mail, Outlook, Thunderbird and the big
// national webmailers); none comes from the measured corpus.
var attributions = []struct{ lang, line string }{
	{"en", "On Mon, Mar 2, 2026 at 10:14 AM Carl Customer <carl@example.com> wrote:"},
	{"en", "On 2 Mar 2026, at 10:14, Carl Customer <carl@example.com> wrote:"},
	{"de", "Am Mo., 2. März 2026 um 10:14 Uhr schrieb Carl Customer <carl@example.com>:"},
	{"de", "Carl Customer <carl@example.com> schrieb am Mo., 2. März 2026, 10:14:"},
	{"de", "Am 02.03.2026 um 10:14 schrieb Carl Customer:"},
	{"fr", "Le lun. 2 mars 2026 à 10:14, Carl Customer <carl@example.com> a écrit :"},
	{"es", "El lun, 2 mar 2026 a las 10:14, Carl Customer (<carl@example.com>) escribió:"},
	{"it", "Il giorno lun 2 mar 2026 alle ore 10:14 Carl Customer <carl@example.com> ha scritto:"},
	{"pt", "Em seg., 2 de mar. de 2026 às 10:14, Carl Customer <carl@example.com> escreveu:"},
	{"nl", "Op ma 2 mrt 2026 om 10:14 schreef Carl Customer <carl@example.com>:"},
	{"sv", "Den mån 2 mars 2026 kl 10:14 skrev Carl Customer <carl@example.com>:"},
	{"da", "Den man. 2. mar. 2026 kl. 10.14 skrev Carl Customer <carl@example.com>:"},
	{"no", "man. 2. mar. 2026 kl. 10:14 skrev Carl Customer <carl@example.com>:"},
	{"fi", "ma 2. maalisk. 2026 klo 10.14 Carl Customer (carl@example.com) kirjoitti:"},
	{"pl", "pon., 2 mar 2026 o 10:14 Carl Customer <carl@example.com> napisał(a):"},
	{"cs", "po 2. 3. 2026 v 10:14 odesílatel Carl Customer <carl@example.com> napsal:"},
	{"sk", "po 2. 3. 2026 o 10:14 Carl Customer <carl@example.com> napísal(a):"},
	{"ru", "пн, 2 мар. 2026 г. в 10:14, Carl Customer <carl@example.com>:"},
	{"uk", "пн, 2 бер. 2026 р. о 10:14 Carl Customer <carl@example.com> пише:"},
	{"tr", "Carl Customer <carl@example.com>, 2 Mar 2026 Pzt, 10:14 tarihinde şunu yazdı:"},
	{"hu", "Carl Customer <carl@example.com> ezt írta (időpont: 2026. márc. 2., H, 10:14):"},
	{"el", "Στις Δευ 2 Μαρ 2026 στις 10:14 π.μ., ο/η Carl Customer <carl@example.com> έγραψε:"},
	{"ro", "Pe lun., 2 mar. 2026 la 10:14, Carl Customer <carl@example.com> a scris:"},
	{"ca", "El dl., 2 de març 2026, a les 10:14, Carl Customer (<carl@example.com>) va escriure:"},
	{"ja", "2026年3月2日(月) 10:14 Carl Customer <carl@example.com>:"},
	{"ja", "2026/03/02 10:14、Carl Customer <carl@example.com>のメッセージ:"},
	{"zh", "Carl Customer <carl@example.com> 于2026年3月2日周一 10:14写道："},
	{"zh", "在 2026-03-02 10:14:00，\"Carl Customer\" <carl@example.com> 写道："},
	{"ko", "2026년 3월 2일 (월) 오전 10:14, Carl Customer <carl@example.com>님이 작성:"},
	{"vi", "Vào Th 2, 2 thg 3, 2026 vào lúc 10:14 Carl Customer <carl@example.com> đã viết:"},
	{"ar", "في الاثنين، 2 مارس 2026 في 10:14 ص، كتب Carl Customer <carl@example.com>:"},
	{"he", "בתאריך יום ב׳, 2 במרץ 2026 ב-10:14 מאת Carl Customer <carl@example.com>:"},
	{"id", "Pada tanggal Sen, 2 Mar 2026 pukul 10.14 Carl Customer <carl@example.com> menulis:"},
	{"verbless", "2026-03-02 10:14 GMT+01:00 Carl Customer <carl@example.com>:"},
	{"zoho", "---- On Mon, 02 Mar 2026 10:14:00 +0100 Carl Customer <carl@example.com> wrote ----"},
	{"lotus", "-----\"Carl Customer\" <carl@example.com> wrote: -----"},
}

func TestStripAttributionsWorldwide(t *testing.T) {
	for _, a := range attributions {
		// Unmarked (HTML mail as text), over a "> " quote, and wrapped
		// where a client breaks a long line (before the address).
		wrapped := a.line
		if i := strings.Index(wrapped, " <"); i > 0 {
			wrapped = wrapped[:i] + "\n" + wrapped[i+1:]
		}
		for _, in := range []string{
			"The printer works again.\n\n" + a.line + "\n\nIs the printer fixed?\nAcme Support\n",
			"The printer works again.\n\n" + a.line + "\n> Is the printer fixed?\n> Acme Support\n",
			"The printer works again.\n\n" + wrapped + "\n\n> Is the printer fixed?\n",
		} {
			if got := Strip(in, nil); got != "The printer works again." {
				t.Errorf("%s: %q\n got %q", a.lang, in, got)
			}
		}
	}
}

// TestStripAttributionWrappedInDate: Gmail wraps a long attribution
// wherever the line is full, also inside the date ("Fr., 28.\nApr.") or
// inside the address brackets.
func TestStripAttributionWrappedInDate(t *testing.T) {
	for _, a := range []string{
		"Carl Customer <carl@example.com> schrieb am Mo., 2.\nMärz 2026 um 10:14 Uhr:",
		"Op 2 maart 2026 10:14 schreef Carl Customer <\ncarl@example.com>:",
		"ma 2. mar. 2026 kl. 10:14 skrev Carl Customer <carl@example.com\n>:",
	} {
		in := "Works.\n\n" + a + "\n\n> Is the printer fixed?\n> Acme\n"
		if got := Strip(in, nil); got != "Works." {
			t.Errorf("%q\n got %q", a, got)
		}
	}
}

func TestStripHeaderBlocksWorldwide(t *testing.T) {
	for _, c := range []struct{ lang, block string }{
		{"de", "Von: Acme Support <support@example.com>\nGesendet: Montag, 2. März 2026 10:14\nAn: Carl\nBetreff: Drucker"},
		{"fr", "De : Acme Support <support@example.com>\nEnvoyé : lundi 2 mars 2026 10:14\nÀ : Carl\nObjet : Imprimante"},
		{"cs", "Od: Acme Support <support@example.com>\nOdesláno: pondělí 2. března 2026 10:14\nKomu: Carl\nPředmět: Tiskárna"},
		{"pl", "Od: Acme Support <support@example.com>\nWysłano: poniedziałek, 2 marca 2026 10:14\nDo: Carl\nTemat: Drukarka"},
		{"ru", "От: Acme Support <support@example.com>\nОтправлено: 2 марта 2026 г. 10:14\nКому: Carl\nТема: Принтер"},
		{"uk", "Від: Acme Support <support@example.com>\nНадіслано: 2 березня 2026 р. 10:14\nКому: Carl\nТема: Принтер"},
		{"tr", "Kimden: Acme Support <support@example.com>\nGönderildi: 2 Mart 2026 Pazartesi 10:14\nKime: Carl\nKonu: Yazıcı"},
		{"hu", "Feladó: Acme Support <support@example.com>\nElküldve: 2026. március 2. 10:14\nCímzett: Carl\nTárgy: Nyomtató"},
		{"el", "Από: Acme Support <support@example.com>\nΣτάλθηκε: Δευτέρα, 2 Μαρτίου 2026 10:14 πμ\nΠρος: Carl\nΘέμα: Εκτυπωτής"},
		{"fi", "Lähettäjä: Acme Support <support@example.com>\nLähetetty: maanantai 2. maaliskuuta 2026 10.14\nVastaanottaja: Carl\nAihe: Tulostin"},
		{"sv", "Från: Acme Support <support@example.com>\nSkickat: den 2 mars 2026 10:14\nTill: Carl\nÄmne: Skrivare"},
		{"da", "Fra: Acme Support <support@example.com>\nSendt: 2. marts 2026 10:14\nTil: Carl\nEmne: Printer"},
		{"pt", "De: Acme Support <support@example.com>\nEnviada em: segunda-feira, 2 de março de 2026 10:14\nPara: Carl\nAssunto: Impressora"},
		{"ro", "De la: Acme Support <support@example.com>\nTrimis: luni, 2 martie 2026 10:14\nCătre: Carl\nSubiect: Imprimantă"},
		{"zh", "发件人: Acme Support <support@example.com>\n发送时间: 2026年3月2日 10:14\n收件人: Carl\n主题: 打印机"},
		{"zh-qq", "------------------ 原始邮件 ------------------\n发件人: \"Acme Support\"<support@example.com>;\n发送时间: 2026年3月2日(星期一) 上午10:14\n收件人: \"Carl\"<carl@example.com>;\n主题: 打印机"},
		{"ja", "差出人: Acme Support <support@example.com>\n送信日時: 2026年3月2日 10:14\n宛先: Carl\n件名: プリンター"},
		{"ko", "보낸 사람: Acme Support <support@example.com>\n보낸 날짜: 2026년 3월 2일 월요일 오전 10:14\n받는 사람: Carl\n제목: 프린터"},
		{"ar", "من: Acme Support <support@example.com>\nتاريخ الإرسال: الاثنين، 2 مارس 2026 10:14 ص\nإلى: Carl\nالموضوع: طابعة"},
		{"vi", "Từ: Acme Support <support@example.com>\nĐã gửi: Thứ Hai, 2 tháng 3, 2026 10:14\nĐến: Carl\nChủ đề: Máy in"},
		{"blackberry", "-----Original Message-----\nFrom: Acme Support <support@example.com>\nDate: Mon, 2 Mar 2026 10:14:00\nTo: Carl\nReply-To: support@example.com\nSubject: Printer"},
		{"pl-oneline", "Temat: Drukarka Nadawca: \"Acme\" support@example.com Adresat: carl@example.com Data: 2026-03-02 10:14"},
		{"fi-rule", "-------- Alkuperäinen viesti --------"},
		{"bare-rule", "Original Message\nFrom: Acme Support <support@example.com>\nTo: Carl"},
		{"cs-rule", "---------- Původní e-mail ----------"},
		{"ru-rule", "-------- Исходное сообщение --------"},
		{"ja-rule", "-------- 元のメッセージ --------"},
		{"ko-rule", "--------- 원본 메시지 ---------"},
		{"tr-rule", "-------- Orijinal mesaj --------"},
		{"el-rule", "-------- Αρχικό μήνυμα --------"},
	} {
		in := "The printer works again.\n\n" + c.block + "\n\nIs the printer fixed?\n"
		if got := Strip(in, nil); got != "The printer works again." {
			t.Errorf("%s:\n got %q", c.lang, got)
		}
	}
}

func TestStripFootersWorldwide(t *testing.T) {
	for _, f := range []string{
		"Sent from my iPhone", "Sent from my BlackBerry® wireless device", "Von meinem iPhone gesendet",
		"Envoyé de mon iPhone", "Enviado desde mi iPhone", "Enviado do meu iPhone", "Inviato da iPhone",
		"Verzonden vanaf mijn iPhone", "Skickat från min iPhone", "Sendt fra min iPhone",
		"Lähetetty iPhonesta", "Wysłane z mojego iPhone'a", "Odesláno z iPhonu", "Отправлено с iPhone",
		"Надіслано з iPhone", "iPhone'umdan gönderildi", "Az iPhone-omról küldve",
		"Στάλθηκε από το iPhone μου", "Trimis de pe iPhone-ul meu", "Enviat des del meu iPhone",
		"发自我的iPhone", "從我的 iPhone 傳送", "iPhoneから送信", "iPhone에서 보냄", "Gửi từ iPhone của tôi",
		"أُرسلت من الـ iPhone", "Get Outlook for Android", "Obtener Outlook para iOS",
		"Sent from my Galaxy", "Sent from Yahoo Mail on Android", "Sent from my iPhone!",
	} {
		in := "The printer works again.\n\n" + f + "\n"
		if got := Strip(in, nil); got != "The printer works again." {
			t.Errorf("%q:\n got %q", f, got)
		}
	}
}

// TestStripDeviceFooter: below a phone's own footer comes only the quoted
// original, however long it is; a French header block with non-breaking
// spaces before its colons is one too.
func TestStripDeviceFooter(t *testing.T) {
	in := "Works.\n\nSent from my Fairphone\n\nWe replaced the paper feed of your printer yesterday afternoon and tested it with two hundred pages.\n"
	if got := Strip(in, nil); got != "Works." {
		t.Errorf("got %q", got)
	}
	in = "Ça marche.\n\nDe\u00a0: Acme <support@example.com>\nEnvoyé\u00a0: lundi 2 mars 2026 10:14\nÀ\u00a0: Carl\nObjet\u00a0: Imprimante\n\nAlors ?\n"
	if got := Strip(in, nil); got != "Ça marche." {
		t.Errorf("got %q", got)
	}
}

func TestStripDisclaimer(t *testing.T) {
	in := "The printer works again.\n\nCarl\n\nCONFIDENTIALITY NOTICE: This e-mail and any attachments are for the\nsole use of the intended recipient.\n"
	if got := Strip(in, nil); got != "The printer works again.\n\nCarl" {
		t.Errorf("got %q", got)
	}
	in = "Thanks.\n\n______________\nDiese E-Mail enthält vertrauliche Informationen. Wenn Sie nicht der\nrichtige Adressat sind, informieren Sie bitte sofort den Absender.\n"
	if got := Strip(in, nil); got != "Thanks." {
		t.Errorf("got %q", got)
	}
}

// TestStripKeepsOwnText: sentences that look like parts of a quote stay,
// whatever language they are in.
func TestStripKeepsOwnText(t *testing.T) {
	for _, in := range []string{
		"Hello,\n\nAt 10:14 the server wrote:\nE-204 paper feed\n\nCarl",
		"Hello,\n\nI sent it at 10:30 to carl@example.com:\n- the log\n- the photo\n\nCarl",
		"Hello,\n\nThe display wrote at 10:14 and again at 10:20:\nE-204\n\nCarl",
		"Hallo,\n\num 10:14 schrieb der Drucker:\nE-204\n\nCarl",
		"Hello,\n\nFrom: the printer\nSubject: its status\nE-204\n\nCarl",
		"Hello,\n\nhere are the headers:\n\nFrom: a@example.com\nDate: Mon, 2 Mar 2026 10:14\nTo: b@example.com\nSubject: x\n\nCarl",
		"Hello,\n\nSent from the office printer, the page reads E-204 and then\nthe tray light blinks three times before it stops.\n\nCarl",
		"Hello,\n\n2026-03-02 the printer stopped. 2026-03-03 it worked again.\n\nCarl",
		"Hello,\n\nOn 12 March the display wrote:\nE-205\n\nCarl",
		"Hello,\n\nOriginal message:\nthe printer said E-204 before it stopped.\n\nCarl",
		"Hello,\n\nthe parcel:\nSent via DHL\nIt arrived on Monday, but the box was open and the paper tray of the printer was missing completely.\n\nCarl",
		"Hello,\n\nI wrote to carl@example.com on 2 March 2026 and got no answer.\nCan you check?\n\nCarl",
	} {
		if got := Strip(in, nil); got != strings.TrimSpace(in) {
			t.Errorf("own text cut:\n in %q\ngot %q", in, got)
		}
	}
}

func TestPhraseTable(t *testing.T) {
	if _, err := buildRules("verb\ten\n"); err == nil {
		t.Error("a line without a phrase was accepted")
	}
	if _, err := buildRules("nonsense\ten\tx\n"); err == nil {
		t.Error("an unknown kind was accepted")
	}
	langs := map[string]bool{}
	for _, l := range strings.Split(phrasesTSV, "\n") {
		if f := strings.Split(l, "\t"); len(f) == 3 && f[0] == "verb" {
			langs[f[1]] = true
		}
	}
	if len(langs) < 25 {
		t.Errorf("attribution verbs for %d languages, want at least 25", len(langs))
	}
}

// TestStripContactBlock: a signature without "-- " (a closing, a name,
// then title, company and phone lines) loses the block below the name.
func TestStripContactBlock(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"The printer works again.\n\nBest regards,\nCarl Customer\nHead of IT | Acme GmbH\nTel. +49 30 1234567\nwww.acme.example\n",
			"The printer works again.\n\nBest regards,\nCarl Customer"},
		{"Drukarka działa.\n\nPozdrawiam\nJan Kowalski\nDział IT\ntel. 22 123 45 67\n",
			"Drukarka działa.\n\nPozdrawiam\nJan Kowalski"},
		{"Принтер снова работает.\n\nС уважением,\nИван Петров\nООО «Акме»\n+7 495 123-45-67\n",
			"Принтер снова работает.\n\nС уважением,\nИван Петров"},
		// Text under the name stays: a P.S., a sentence, no contact data.
		{"Works.\n\nThanks,\nCarl\nP.S. call me at +49 30 1234567\n", ""},
		{"Works.\n\nThanks,\nCarl\nThe old one was at +49 30 1234567 and it never worked.\n", ""},
		{"Works.\n\nBest regards,\nCarl Customer\nHead of IT\n", ""},
	} {
		want := c.want
		if want == "" {
			want = strings.TrimSpace(c.in)
		}
		if got := Strip(c.in, nil); got != want {
			t.Errorf("%q\n got %q\nwant %q", c.in, got, want)
		}
	}
}

// TestStripNotesAndZoho: Lotus Notes' tab-separated header block and
// Zoho's "---- Carl wrote ----" line.
func TestStripNotesAndZoho(t *testing.T) {
	for _, in := range []string{
		"Works.\n\nFrom:\tCarl Customer <carl@example.com>\nTo:\tsupport@example.com\nDate:\t03/02/2026 10:14 AM\nSubject:\tPrinter\n\nIs it fixed?\n",
		"Works.\n\n---- Carl Customer wrote ----\n\nIs it fixed?\n",
		"Works.\n\n---- 在 星期一, 02 三月 2026 10:14:00 +0800 Carl Customer <carl@example.com> 写道 ----\n\nIs it fixed?\n",
	} {
		if got := Strip(in, nil); got != "Works." {
			t.Errorf("%q\n got %q", in, got)
		}
	}
}

// TestStripWrappedQuoteLine: a long quoted line that a client wrapped
// without "> " is part of the quote; a short answer under a quoted
// question is not.
func TestStripWrappedQuoteLine(t *testing.T) {
	in := "Works.\n\nOn Mon, Mar 2, 2026 at 10:14 AM Acme <support@example.com> wrote:\n> We replaced the paper feed of your printer yesterday afternoon and tested it,\nthen we sent it back to you.\n> Regards, Acme\n"
	if got := Strip(in, nil); got != "Works." {
		t.Errorf("wrapped quote line:\n got %q", got)
	}
	in = "Answers below.\n\nOn Mon, Mar 2, 2026 at 10:14 AM Acme <support@example.com> wrote:\n> Is the printer fixed\nno, it is not\n> Does the scanner work\nyes\n"
	if got := Strip(in, nil); got != strings.TrimSpace(in) {
		t.Errorf("inline answers cut:\n got %q", got)
	}
}

// TestStripQuoteAboveSignature: a trailing quote with the author's "-- "
// signature below it still goes; the answers between quotes stay.
func TestStripQuoteAboveSignature(t *testing.T) {
	in := "On Mon, Mar 2, 2026 at 10:14 AM Acme <support@example.com> wrote:\n> Is it fixed?\n\nYes.\n\n> Anything else?\n\nNo.\n\n> Regards, Acme\n> old history\n\n-- \nCarl Customer\n"
	want := "On Mon, Mar 2, 2026 at 10:14 AM Acme <support@example.com> wrote:\n> Is it fixed?\n\nYes.\n\n> Anything else?\n\nNo."
	if got := Strip(in, nil); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// TestStripQuoteAboveClosing: an attribution and its quote between the
// answer and a short closing go, with the blank lines that belong to the
// quote; the closing stays.
func TestStripQuoteAboveClosing(t *testing.T) {
	in := "Works.\nOn Mon, Mar 2, 2026 at 10:14 AM Acme <support@example.com> wrote:\n\n> Is it fixed?\n\nRegards, Carl\n"
	if got, want := Strip(in, nil), "Works.\nRegards, Carl"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
