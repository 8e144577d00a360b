"""Month and weekday names of feed dates in many languages; generated, do not edit.

Made by `tests/date_names_cldr.py` from CLDR (Babel 2.19.0) for pt, es, ca, gl, it, fr, de, nl,
sv, da, nb, nn, fi, pl, cs, sk, sl, ro, tr, id, ru, uk, en: lower-cased, without the
abbreviation dot, Latin ones also without accents, plus the first three letters of each month; a
name that means two different months is left out.
"""


def _words(text: str) -> list[str]:
    return text.split()


MONTHS: dict[str, int] = {
    **dict.fromkeys(
        _words(
            "ene enero gen gener gennaio ian ianuarie jan janeiro januar januara januari "
            "january január januára janv janvier led leden ledna oca ocak sty styczen styczeń "
            "stycznia tam tammi tammikuu tammikuuta xan xaneiro січ січень січня янв январь "
            "января "
        ),
        1,
    ),
    **dict.fromkeys(
        _words(
            "feb febbraio febr febreiro febrer febrero februar februara februari februarie "
            "february február februára fev fevereiro fevr fevrier fév févr février hel helmi "
            "helmikuu helmikuuta lut lutego luty sub subat uno unor unora úno únor února şub "
            "şubat лют лютий лютого фев февр февраль февраля "
        ),
        2,
    ),
    **dict.fromkeys(
        _words(
            "bre brezen brezna bře březen března maa maalis maaliskuu maaliskuuta maart mar "
            "marc marca march marco marec maret mars mart martie marts marz marzec marzo març "
            "março mrt mär märz бер березень березня мар март марта "
        ),
        3,
    ),
    **dict.fromkeys(
        _words(
            "abr abril apr april aprila aprile aprilie apríl apríla avr avril dub duben dubna "
            "huh huhti huhtikuu huhtikuuta kwi kwiecien kwiecień kwietnia nis nisan апр "
            "апрель апреля кві квіт квітень квітня "
        ),
        4,
    ),
    **dict.fromkeys(
        _words(
            "kve kveten kvetna kvě květen května mag maggio mai maig maio maj maja may mayo "
            "mayıs mei máj mája tou touko toukokuu toukokuuta май мая тра трав травень травня "
        ),
        5,
    ),
    **dict.fromkeys(
        _words(
            "cerven cervna cvn cze czerwca czerwiec giu giugno haz haziran iun iunie juin jun "
            "juna june junho juni junij junio juny jún júna kes kesa kesakuu kesakuuta kesä "
            "kesäkuu kesäkuuta xun xuno xuñ xuño červen června čvn июн июнь июня чер черв "
            "червень червня "
        ),
        6,
    ),
    **dict.fromkeys(
        _words(
            "cervence cervenec cvc hei heina heinakuu heinakuuta heinä heinäkuu heinäkuuta "
            "iul iulie juil juillet jul jula julho juli julij julio juliol july júl júla lip "
            "lipca lipiec lug luglio tem temmuz xul xullo července červenec čvc июл июль июля "
            "лип липень липня "
        ),
        7,
    ),
    **dict.fromkeys(
        _words(
            "ag ago agost agosto agu agustos agustus aou aout aoû août aug august augusta "
            "augusti augustus avg avgust ağu ağustos elo elokuu elokuuta sie sierpien "
            "sierpień sierpnia srp srpen srpna авг август августа сер серп серпень серпня "
        ),
        8,
    ),
    **dict.fromkeys(
        _words(
            "eyl eylul eylül sep sept september septembra septembre septembrie septiembre set "
            "setembre setembro settembre syy syys syyskuu syyskuuta wrz wrzesien wrzesień "
            "wrzesnia września zar zari zář září вер вересень вересня сен сент сентябрь "
            "сентября "
        ),
        9,
    ),
    **dict.fromkeys(
        _words(
            "eki ekim lok loka lokakuu lokakuuta oct october octobre octombrie octubre okt "
            "oktober oktobra október októbra ott ottobre out outubro paz pazdziernik "
            "pazdziernika paź październik października rij rijen rijna říj říjen října жов "
            "жовт жовтень жовтня окт октябрь октября "
        ),
        10,
    ),
    **dict.fromkeys(
        _words(
            "kas kasım lis listopad listopada listopadu marras marraskuu marraskuuta noi "
            "noiembrie nov november novembra novembre novembro noviembre лис лист листопад "
            "листопада ноя нояб ноябрь ноября "
        ),
        11,
    ),
    **dict.fromkeys(
        _words(
            "ara aralık dec december decembra decembre decembrie decembro des desember "
            "desembre dez dezember dezembro dic dicembre diciembre déc décembre gru grudnia "
            "grudzien grudzień jou joulu joulukuu joulukuuta pro prosince prosinec гру груд "
            "грудень грудня дек декабрь декабря "
        ),
        12,
    ),
}
WEEKDAYS = frozenset(
    _words(
        "ca car carsamba cet cetrtek cmt ct ctvrtek cu cum cuma cumartesi czw czwartek dc dg "
        "di dienstag dijous dilluns dim dimanche dimarts dimecres dinsdag dissabte diumenge "
        "divendres dj dl do dom domenica domingo donderdag donnerstag ds dt du dum duminica "
        "duminică dv fr fre fredag freitag fri friday gio giovedi giovedì je jeu jeudi joi ju "
        "jue jueves jum jumat kam kamis ke keskiviikko keskiviikkona la lauantai lauantaina "
        "laurdag lo lor lordag lu lun lundi lunedi lunedì lunes luni luns lö lör lördag lø "
        "lør lørdag ma maanantai maanantaina maandag man mandag mar mardi martedi martedì "
        "martes marti marți me mer mercoledi mercoledì mercores mercredi mi mie miercoles "
        "miercuri min minggu mittwoch mié miércoles mo mon monday montag må mån måndag mé mér "
        "mércores ne ned nedela nedele nedelja nedeľa neděle nie niedz niedziela on ons "
        "onsdag pa patek paz pazar pazartesi pe per perjantai perjantaina persembe perşembe "
        "pet petek pi pia piatek piatok pią piątek po pon pondeli pondelok pondělí ponedeljek "
        "poniedziałek pt pzt pá pátek qua qui rab rabu sa sab sabado sabato sabtu sal salı "
        "sam sambata samedi samstag sat saturday seg sel selasa sen senin sex so sob sobota "
        "son sondag sonntag sr sre sreda sro sroda st streda stvrtok středa su sun sunday "
        "sunnuntai sunnuntaina sá sáb sábado sâ sâm sâmbătă sö sön söndag sø søn søndag ter "
        "th thu thursday ti tiistai tiistaina tir tirs tirsdag tis tisdag to tor torek tors "
        "torsdag torstai torstaina tu tue tuesday ty tysdag ut utery utorok ve ven vendredi "
        "venerdi venerdì venres vi vie viernes vin vineri vr vrijdag we wed wednesday wo "
        "woensdag wt wto wtorek xo xov xoves za zaterdag zo zondag ça çar çarşamba út úterý "
        "čet četrtek čt čtvrtek śr śro środa št štvrtok воскресенье вс вт вторник вівторок нд "
        "неділя пʼятниця пн понедельник понеділок пт пятница сб середа ср среда суббота "
        "субота четвер четверг чт "
    )
)
ENGLISH_MONTHS = frozenset(
    _words(
        "apr april aug august dec december feb february jan january jul july jun june mar "
        "march may nov november oct october sep september "
    )
)
ENGLISH_WEEKDAYS = frozenset(
    _words(
        "fr fri friday mo mon monday sa sat saturday su sun sunday th thu thursday tu tue "
        "tuesday we wed wednesday "
    )
)
