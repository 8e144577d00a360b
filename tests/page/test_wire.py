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


# (the article text as stored: the first paragraphs, one per line; agency; dateline)
# fmt: off
FIRST_PARAGRAPHS = [
    # The agency and the place as a paragraph of their own above the text (Taipei Times and
    # other republishers of wire copy)
    ("Reuters, MOSCOW\nRussia said on Tuesday it had expelled two diplomats over spying.", "Reuters", "MOSCOW"),
    ("AFP, PARIS\nFrance's prime minister survived a no-confidence vote on Monday.", "AFP", "PARIS"),
    ("AP, WASHINGTON\nThe Senate voted late on Tuesday to advance the spending bill.", "AP", "WASHINGTON"),
    ("Bloomberg, NEW YORK\nWall Street's main indexes opened higher on Monday.", "Bloomberg", "NEW YORK"),
    ("Reuters, SAO PAULO\nBrazil's central bank raised its benchmark rate by half a point.", "Reuters", "SAO PAULO"),
    ("AFP, BERLIN\nDie Bundesregierung will das Heizungsgesetz vor der Sommerpause ändern.", "AFP", "BERLIN"),
    ("EFE, MADRID\nEl Gobierno aprobó este martes el anteproyecto de ley de vivienda.", "EFE", "MADRID"),
    ("Kyodo, TOKYO\n日本政府は3日、新たな経済対策を閣議決定した。", "Kyodo", "TOKYO"),
    ("Reuters, KYIV, Ukraine\nRussian drones struck energy facilities overnight.", "Reuters", "KYIV, Ukraine"),
    ("AFP, Reuters\nThe UN Security Council met on Friday to discuss the ceasefire.", "AFP", None),
    # A byline naming the agency the story was written with
    ("Staff writer, with CNA\nTaiwan's Central Weather Administration issued a sea warning.", "CNA", None),
    ("Staff writer, with AFP\nThe Ministry of Foreign Affairs condemned the drills.", "AFP", None),
    ("By Jason Pan / Staff reporter, with CNA\nThe High Court yesterday upheld the sentence.", "CNA", None),
    ("Von Anna Schmidt, mit Material von dpa\nDie Regierung hat am Montag das Gesetz beschlossen.", "dpa", None),
    ("Par Jean Dupont, avec AFP\nLe gouvernement a annoncé mardi un plan d'économies.", "AFP", None),
    # Must NOT match: a staff byline, a name and a place, two places, a sentence
    ("By Lin Chia-nan / Staff reporter\nThe Executive Yuan yesterday approved a draft amendment.", None, None),
    ("Staff writer, with agencies\nThe Executive Yuan yesterday approved a draft amendment.", None, None),
    ("Anna Schmidt, Berlin\nDie Regierung hat am Montag beschlossen, das Gesetz zu ändern.", None, None),
    ("Jean Dupont, à Paris\nLe gouvernement a annoncé mardi un plan d'économies.", None, None),
    ("Lin Chia-nan, TAIPEI\nThe Executive Yuan yesterday approved a draft amendment.", None, None),
    ("Paris, Texas\nThe small town held its annual fair on Saturday, drawing thousands.", None, None),
    ("Moskau, Russland\nDer Kreml hat am Dienstag zwei Diplomaten ausgewiesen.", None, None),
    ("ap, bangkok\nThe government announced new measures on Monday.", None, None),
    ("Reuters, a news agency, reported last week that the talks had stalled over the border.", None, None),
]
# fmt: on


@pytest.mark.parametrize(("text", "agency", "dateline"), FIRST_PARAGRAPHS)
def test_first_paragraph_credit(text, agency, dateline):
    assert find_wire(text) == WireInfo(agency, dateline)


@pytest.mark.parametrize(
    ("ending", "agency"),
    [
        ("Additional reporting by AFP", "AFP"),
        ("Additional reporting by Reuters and AFP", "Reuters"),
        ("Additional reporting by Jane Doe in London", None),
        ("Mit Material von dpa und AFP", "dpa"),
        ("Avec AFP", "AFP"),
        ("Con información de EFE", "EFE"),
    ],
)
def test_closing_contribution_credit(ending, agency):
    text = "The central bank left its key rate unchanged on Thursday.\n" + ending
    assert find_wire(text).agency == agency


BODY = "The central bank left its key rate unchanged on Thursday.\nIts next meeting is in May."


@pytest.mark.parametrize(
    ("after_the_body", "agency"),
    [
        ("Additional reporting by AFP", "AFP"),
        ("— Reuters", "Reuters"),
        ("(Reporting by Jane Doe; Editing by John Roe)", "Reuters"),
        ("Share this article\n— Reuters", "Reuters"),
        # a credit of another story further down the page is not this story's
        ("Related\nMarkets rally\nOil slips\nRates on hold\n— Reuters", None),
    ],
)
def test_closing_credit_read_from_the_page_when_the_body_leaves_it_out(after_the_body, agency):
    page_text = f"Menu\n{BODY}\n{after_the_body}\nMore news"
    assert find_wire(BODY, page_text=page_text).agency == agency
