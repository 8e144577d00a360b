"""One wire story as three outlets printed it, and another story on the same topic: shared by
the story tests and the flow test."""

WIRE = (
    "LONDON, Jan 28 (Reuters) - British house prices rose more than expected in January, "
    "according to figures from mortgage lender Nationwide published on Tuesday, adding to signs "
    "that the property market has regained momentum since the general election. House prices "
    "rose by 0.5% in monthly terms after a 0.1% increase in December, beating the median "
    "forecast of a 0.2% rise in a Reuters poll of economists. Compared with January last year, "
    "prices were up 1.9%, the biggest annual increase since May 2018. Robert Gardner, "
    "Nationwide's chief economist, said it was too early to say whether the pick-up marked the "
    "start of a sustained recovery, but surveys of housing market activity had improved. The Bank "
    "of England is due to announce its interest rate decision on Thursday, with financial "
    "markets split on whether policymakers will cut rates for the first time since 2016. Other "
    "data published on Monday showed mortgage approvals rose in December to their highest level "
    "in more than five years, while consumer credit growth slowed."
)

OUTLET_A = (
    "Markets Daily\nHouse prices jump at start of year\n"
    + WIRE
    + ("\nSign up to our newsletter for the latest business news, delivered every morning.")
)
OUTLET_B = (
    "UK house prices beat forecasts\n"
    + WIRE.replace("(Reuters) - ", "– ")
    + (
        "\nRead more: Why first-time buyers are returning to the market. Share this article on "
        "Facebook or Twitter. Copyright 2020 Thomson Reuters."
    )
)
OUTLET_C = (
    "Property\n"
    + WIRE[: WIRE.index("Other data")]  # trimmed last paragraph
    + "\nComments are closed for this article."
)

SAME_TOPIC = (
    "Rents across Britain climbed again in January as tenants competed for a shrinking supply "
    "of homes, a letting agents' survey showed on Wednesday. The average advertised rent outside "
    "London reached a record high, with the fastest increases in the north west and in Wales, "
    "where demand from young professionals has outstripped new listings. Landlords have been "
    "selling properties after tax changes made buy-to-let investments less profitable, the "
    "agents said, leaving fewer homes available for renters. The survey also found that the "
    "time taken to let a property fell to its lowest level since records began, and that more "
    "tenants were offering above the asking rent to secure a home. Economists expect the "
    "pressure on rents to ease only slowly, because house building remains well below the "
    "government's target and mortgage rates are still high for first-time buyers."
)
