"""Wire agency and dateline from the openings, bylines and credits that real wire copy uses."""

from __future__ import annotations

import pytest

from tasks.page.wire import WireInfo, find_wire, normalize_agency

# (opening of the article text, expected agency, expected dateline)
# fmt: off
OPENINGS = [
    # English: AP, Reuters, AFP, Bloomberg, Xinhua, Kyodo, Yonhap, PTI, UPI, CNA, AAP, TASS
    ("WASHINGTON (AP) — The Senate voted late Tuesday to advance the spending bill.", "AP", "WASHINGTON"),
    ("KYIV, Ukraine (AP) — Russian drones struck energy facilities overnight, officials said.", "AP", "KYIV, Ukraine"),
    ("PITTSBURGH, Pa. (AP) — A jury on Monday found the gunman guilty on all counts.", "AP", "PITTSBURGH, Pa."),
    ("LONDON, Jan 28 (Reuters) - British house prices rose more than expected in January.", "Reuters", "LONDON"),
    ("NEW YORK, March 3 (Reuters) - Wall Street's main indexes opened higher on Monday.", "Reuters", "NEW YORK"),
    ("(Reuters) - Apple Inc said on Thursday it would delay the launch of its headset.", "Reuters", None),
    ("PARIS (AFP) - France's prime minister survived a no-confidence vote on Monday.", "AFP", "PARIS"),
    ("BEIJING, March 3 (Xinhua) -- Chinese President Xi Jinping on Sunday sent a message.", "Xinhua", "BEIJING"),
    ("TOKYO (Kyodo) -- Japan's cabinet approved a record defense budget on Friday.", "Kyodo", "TOKYO"),
    ("SEOUL, March 3 (Yonhap) -- North Korea fired a ballistic missile into the East Sea.", "Yonhap", "SEOUL"),
    ("New Delhi, Mar 3 (PTI) The government on Monday extended the deadline for filing returns.", "PTI", "New Delhi"),
    ("WASHINGTON, Jan. 5 (UPI) -- The Supreme Court agreed Friday to hear the case.", "UPI", "WASHINGTON"),
    ("Taipei, March 3 (CNA) Taiwan's Central Weather Administration issued a sea warning.", "CNA", "Taipei"),
    ("SYDNEY, Feb 2 (AAP) - Australia's central bank left rates on hold.", "AAP", "SYDNEY"),
    ("Reuters, MOSCOW — Russia said on Tuesday it had expelled two diplomats.", "Reuters", "MOSCOW"),
    ("MOSCOW, March 3. /TASS/. Russia's Foreign Ministry summoned the ambassador on Monday.", "TASS", "MOSCOW"),
    ("RAJSHAHI, Dec 20, 2025 (BSS) - Homestead gardening has been contributing to self-reliance.", "BSS", "RAJSHAHI"),
    # German: dpa and its regional desks, AFP, Reuters, epd, KNA, APA, SDA
    ("Berlin (dpa) - Die Bundesregierung will das Heizungsgesetz noch vor der Sommerpause ändern.", "dpa", "Berlin"),
    ("Hamburg (dpa/lno) - Ein Großbrand in einer Lagerhalle hat in der Nacht hohen Schaden verursacht.", "dpa", "Hamburg"),
    ("Frankfurt/Main (dpa-AFX) - Der Dax hat am Montag deutlich zugelegt.", "dpa", "Frankfurt/Main"),
    ("Paris (AFP) - Frankreichs Regierung hat ein neues Sparpaket vorgestellt.", "AFP", "Paris"),
    ("Frankfurt am Main (epd). Die evangelische Kirche verliert weiter Mitglieder.", "epd", "Frankfurt am Main"),
    ("Bonn (KNA) Die katholischen Bischöfe beraten in dieser Woche über Reformen.", "KNA", "Bonn"),
    ("Wien (APA) - Die Inflation in Österreich ist im Februar leicht gesunken.", "APA", "Wien"),
    ("Bern (sda) - Der Bundesrat hat am Mittwoch die Botschaft verabschiedet.", "Keystone-SDA", "Bern"),
    ("BERLIN (Reuters) - Die deutsche Wirtschaft ist im vierten Quartal geschrumpft.", "Reuters", "BERLIN"),
    # French, Spanish, Portuguese, Italian
    ("PARIS (AFP) - Le gouvernement a annoncé mardi un plan d'économies de dix milliards.", "AFP", "PARIS"),
    ("Bruxelles (Belga) - Le gouvernement fédéral a approuvé le budget vendredi.", "Belga", "Bruxelles"),
    ("Madrid, 3 mar (EFE).- El Gobierno aprobó este martes el anteproyecto de ley.", "EFE", "Madrid"),
    ("MADRID, 3 (EUROPA PRESS) - El presidente del Gobierno comparecerá en el Congreso.", "Europa Press", "MADRID"),
    ("Lisboa, 03 mar 2024 (Lusa) - O Presidente da República promulgou hoje o diploma.", "Lusa", "Lisboa"),
    ("(ANSA) - ROMA, 03 MAR - Il Consiglio dei ministri ha approvato il decreto.", "ANSA", "ROMA"),
    # Japanese, Korean, Chinese, Russian house styles
    ("【ワシントン共同】米政府は3日、新たな対中輸出規制を発表した。", "Kyodo", "ワシントン"),
    ("【北京時事】中国外務省の報道官は3日の記者会見で述べた。", "Jiji", "北京"),
    ("(서울=연합뉴스) 정부는 3일 내년도 예산안을 발표했다.", "Yonhap", "서울"),
    ("新华社北京3月3日电 国务院总理3日主持召开国务院常务会议。", "Xinhua", "北京"),
    ("МОСКВА, 3 марта. /ТАСС/. Президент России провел совещание с членами правительства.", "TASS", "МОСКВА"),
    # Datelines without an agency
    ("NEW YORK — The city's subway ridership has finally returned to its pre-pandemic level.", None, "NEW YORK"),
    ("Washington (CNN) — The House passed a stopgap bill on Thursday, averting a shutdown.", None, "Washington"),
    ("ST. LOUIS — A federal judge on Tuesday blocked the state's new voting law from taking effect.", None, "ST. LOUIS"),
    # Must NOT match: quotes, headlines in capitals, labels, ordinary sentences
    ('"Paris is burning," the minister said on Tuesday, describing the riots.', None, None),
    ("„Berlin ist nicht Paris“, sagte der Bürgermeister am Montag im Abgeordnetenhaus.", None, None),
    ("London, she said, is simply too expensive for young families these days.", None, None),
    ("TRUMP WINS NEW HAMPSHIRE — AGAIN", None, None),
    ("BREAKING — The Federal Reserve has cut interest rates by half a percentage point today.", None, None),
    ("WATCH: Footage shows the moment the bridge collapsed into the river below.", None, None),
    ("Sen. Joe Manchin (D-W.Va.) — who has long opposed the plan — said Tuesday he would vote no.", None, None),
    ("Bloomberg said on Tuesday that it would not run for office again, ending speculation.", None, None),
    ("The company (NYSE: ACME) — which makes anvils — reported record quarterly profits.", None, None),
    ("Reuters reported last week that the talks had stalled over the border question.", None, None),
    ("Die Bundesregierung will das Heizungsgesetz noch vor der Sommerpause ändern.", None, None),
]
# fmt: on


@pytest.mark.parametrize(("opening", "agency", "dateline"), OPENINGS)
def test_opening(opening, agency, dateline):
    assert find_wire(opening) == WireInfo(agency, dateline)


def test_there_are_enough_openings_in_several_languages():
    assert len(OPENINGS) >= 40
    assert sum(agency is None and dateline is None for _, agency, dateline in OPENINGS) >= 8


@pytest.mark.parametrize(
    ("authors", "agency"),
    [
        (["Jane Doe | Bloomberg"], "Bloomberg"),
        (["By Jane Doe, The Associated Press"], "AP"),
        (["det/dpa"], "dpa"),
        (["dpa/lno"], "dpa"),
        (["JIJI"], "Jiji"),
        (["Reuters Staff"], "Reuters"),
        (["Agence France-Presse"], "AFP"),
        (["Jane Doe", "PA Media"], "PA"),
        # not agencies, or initials that are ordinary in bylines
        (["red, wien.ORF.at/Agenturen"], None),
        (["Ally Mutnick"], None),
        (["AP Dhillon"], None),
        (["Michael Bloomberg Jr."], None),
        (["pa"], None),
    ],
)
def test_byline(authors, agency):
    assert (
        find_wire("Die Regierung hat am Montag beschlossen, das Gesetz zu ändern.", authors).agency
        == agency
    )


def test_byline_line_in_the_text():
    text = "By Jane Doe | Bloomberg\nThe Federal Reserve held rates steady on Wednesday."
    assert find_wire(text) == WireInfo("Bloomberg", None)


def test_dateline_on_the_second_line_after_a_byline():
    text = "By Jane Doe\nLONDON (Reuters) - Britain's economy grew 0.2% in the third quarter."
    assert find_wire(text) == WireInfo("Reuters", "LONDON")


@pytest.mark.parametrize(
    ("ending", "agency"),
    [
        ("(Reporting by Jane Doe; Editing by John Roe)", "Reuters"),
        ("Copyright 2024 The Associated Press. All rights reserved.", "AP"),
        ("© dpa-infocom, dpa:240303-99-123456/2", "dpa"),
        ("(AFP)", "AFP"),
        ("— Reuters", "Reuters"),
        ("The report is due next month.", None),
    ],
)
def test_closing_credit(ending, agency):
    text = "The central bank left its key rate unchanged on Thursday.\n" + ending
    assert find_wire(text).agency == agency


def test_the_publisher_itself_can_be_the_agency():
    assert (
        find_wire("The central bank left rates unchanged.", site_name="Reuters").agency == "Reuters"
    )
    assert find_wire("The central bank left rates unchanged.", site_name="AP News").agency == "AP"
    assert find_wire("The central bank left rates unchanged.", site_name="Spiegel").agency is None


def test_opening_beats_byline():
    text = "PARIS (AFP) - Le gouvernement a annoncé mardi un plan d'économies."
    assert find_wire(text, ["Jane Doe, Reuters"]).agency == "AFP"


@pytest.mark.parametrize(
    ("name", "normalized"),
    [
        ("The Associated Press", "AP"),
        ("dpa-AFX", "dpa"),
        ("AFP/Jiji", "AFP"),
        ("Kyodo News", "Kyodo"),
        ("EUROPA PRESS", "Europa Press"),
        ("Spiegel Online", None),
        ("", None),
    ],
)
def test_normalize_agency(name, normalized):
    assert normalize_agency(name) == normalized
