package reading

// fact is one sentence of a help page holding a bold value {V} (and
// optionally a second one, {W}), with questions that ask for each the way a
// customer would, in other words than the sentence's.
type fact struct {
	text string
	v    gen
	qs   []string
	w    gen
	wqs  []string
}

// section is one heading of a page: its facts and sentences that carry no
// fact, so that not every line is an answer.
type section struct {
	headings []string
	facts    []fact
	filler   []string
}

// topic is one help page.
type topic struct {
	file   string
	titles []string
	intro  []string
	secs   []section
	// table, when set, adds a section laid out as a Markdown table.
	table *table
}

// table is a section whose facts are cells: one row per option, one
// column per property, each cell asked about by its own questions.
type table struct {
	headings []string
	first    string // the first column's header
	rows     []string
	cols     []column
}

type column struct {
	header string
	v      gen
	qs     []string // %s is the row's name
}

var topics = []topic{
	{
		file:   "returns.md",
		titles: []string{"Returns and exchanges", "Sending something back", "Our return policy"},
		intro:  []string{"We want you to love what you buy from {Shop}. If you do not, send it back.", "Changed your mind? Most things can come back to {Shop}."},
		secs: []section{
			{headings: []string{"Time limits", "How long you have", "Return window"}, facts: []fact{
				{text: "Most items can be returned **{V}** for a full refund.", v: num(11, 45, "within %d days of delivery"),
					qs: []string{"How long do I have to send an item back and get all my money?", "What is the deadline for returning something for a full refund?"}},
				{text: "Items sent back later than that, up to 90 days, are refunded as **{V}** only.", v: pick("a {Shop} voucher", "account credit", "gift card credit", "an exchange", "shop credit", "a credit voucher"),
					qs: []string{"What do I get for a return that misses the full-refund window?", "How is a late return paid back?"}},
			}, filler: []string{"The clock starts on the day the parcel is delivered.", "Keep the delivery email until the return is done."}},
			{headings: []string{"Condition of items", "What we accept back", "Opened products"}, facts: []fact{
				{text: "Opened products returned without their box are charged a **{V}**.", v: num(5, 25, "%d%% restocking fee"),
					qs: []string{"Is there a charge for returning an opened product with no box?", "What fee do you take for an opened item that comes back without packaging?"}},
				{text: "Custom engraved items can be returned only **{V}**.", v: pick("if they are faulty", "when they arrive damaged", "with a fault report"),
					qs: []string{"Can I return an engraved item?", "When will you take back a personalised product?"}},
			}, filler: []string{"Unopened items are refunded in full.", "Software licences cannot be returned once activated.", "Please include every cable and manual."}},
			{headings: []string{"Return postage", "Labels and postage", "Sending it to us"}, facts: []fact{
				{text: "Start a return under **{V}**.", v: menu("Send back", "Start a return", "Returns", "Return an order"),
					qs: []string{"Where in my account do I begin a return?", "Which menu lets me start sending something back?"}},
				{text: "Unless the item is faulty, **{V}** is deducted from the refund for the prepaid label.", v: money(2, 9, "%s"),
					qs: []string{"What does the return label cost me?", "How much comes off my refund for postage when nothing is wrong with the item?"}},
				{text: "Returns go to our warehouse in **{V}**.", v: pick(cities...),
					qs: []string{"Where is the returns warehouse?", "Which city do returned parcels go to?"}},
			}},
			{headings: []string{"Getting your money", "Refund timing", "When you are paid back"}, facts: []fact{
				{text: "We pay refunds to the card you used **{V}** after the parcel reaches us.", v: num(4, 12, "within %d business days"),
					qs: []string{"How soon do I see my refund once you receive the return?", "After my return arrives, how long until the money is back?"}},
			}, filler: []string{"Your bank can take a few more days to show it.", "We email you when the refund is sent."}},
		},
	},
	{
		file:   "delivery.md",
		titles: []string{"Delivery", "Shipping your order", "Shipping and tracking"},
		intro:  []string{"{Shop} ships from {City} with {Carrier}.", "Here is how your order gets to you."},
		secs: []section{
			{headings: []string{"Dispatch", "When orders leave", "Same-day dispatch"}, facts: []fact{
				{text: "Orders placed **{V}** on a weekday leave the warehouse the same day.", v: clock("before %s"),
					qs: []string{"By what time must I order for my parcel to leave today?", "What is the latest I can order and still get same-day dispatch?"}},
				{text: "Parcels are carried by **{V}** within the country.", v: pick(carriers...),
					qs: []string{"Which courier delivers your parcels?", "What delivery company do you use?"}},
			}, filler: []string{"Weekend orders leave on Monday.", "You get a tracking link by email."}},
			{headings: []string{"Costs", "Delivery prices", "Free delivery"}, facts: []fact{
				{text: "Standard delivery is free on orders over **{V}**.", v: money(25, 150, "%s"),
					qs: []string{"How much must I spend to get standard shipping for free?", "From what basket total is ordinary delivery free?"}},
				{text: "Next-day delivery costs **{V}** per order.", v: money(6, 24, "%s"),
					qs: []string{"What is the price of next-day delivery?", "How much do you charge for next-day shipping?"}},
			}},
			{headings: []string{"Changing the address", "Wrong address?", "Redirecting a parcel"}, facts: []fact{
				{text: "Once a parcel has left, {Carrier} can redirect it for **{V}**.", v: money(2, 9, "%s"),
					qs: []string{"What is the fee to redirect a parcel already on its way?", "How much does it cost to send a dispatched order to a new address?"}},
				{text: "The address can be edited online **{V}** after ordering.", v: num(1, 6, "for up to %d hours"),
					qs: []string{"How long after ordering can I change the delivery address myself?", "Until when can I edit my shipping address online?"}},
			}},
			{headings: []string{"Late or missing parcels", "Lost parcels", "Problems with delivery"}, facts: []fact{
				{text: "If tracking shows no movement for **{V}**, we ask {Carrier} to search for it.", v: num(4, 12, "%d business days"),
					qs: []string{"After how long without a tracking update do you start a search?", "When do you investigate a parcel whose tracking is stuck?"}},
				{text: "Tell us about a parcel marked delivered that you never got **{V}**.", v: num(24, 96, "within %d hours"),
					qs: []string{"How soon must I report a parcel that says delivered but never came?", "What is the deadline to report a missing parcel shown as delivered?"}},
			}, filler: []string{"Check with neighbours first.", "We send a replacement or refund once the search ends."}},
		},
		table: &table{
			headings: []string{"Delivery options", "Speeds and prices"},
			first:    "Option", rows: []string{"Economy", "Standard", "Priority", "Overseas"},
			cols: []column{
				{header: "Arrives in", v: span(1, 21, "%s business days"), qs: []string{"How long does %s delivery take?", "How many days does %s shipping need?"}},
				{header: "Price", v: money(3, 29, "%s"), qs: []string{"How much is %s delivery?", "What does %s shipping cost?"}},
			},
		},
	},
	{
		file:   "sign-in-and-security.md",
		titles: []string{"Sign-in and security", "Protecting your account", "Account safety"},
		intro:  []string{"Your {Shop} account holds your orders and cards, so keep it safe.", "A few rules keep your account yours."},
		secs: []section{
			{headings: []string{"Passwords", "Choosing a password", "Signing in"}, facts: []fact{
				{text: "A password needs at least **{V}**.", v: num(6, 16, "%d characters"),
					qs: []string{"What is the shortest password you accept?", "How many characters must my password have?"}},
				{text: "A link to reset your password stops working after **{V}**.", v: num(5, 90, "%d minutes"),
					qs: []string{"When does a password reset link expire?", "For how long can I use the link to reset my password?"}},
				{text: "After **{V}**, sign-in is blocked for **{W}**.", v: num(3, 9, "%d wrong passwords"), w: num(5, 60, "%d minutes"),
					qs:  []string{"How many wrong passwords lock me out?", "How many failed sign-ins block the account?"},
					wqs: []string{"How long am I blocked after too many wrong passwords?", "For how long is sign-in paused after repeated failures?"}},
			}, filler: []string{"Never reuse a password from another site.", "Support cannot unlock the account early."}},
			{headings: []string{"Two-factor sign-in", "Extra protection", "Verification codes"}, facts: []fact{
				{text: "Switch on two-factor sign-in under **{V}**.", v: menu("Two-factor sign-in", "Security codes", "Extra protection"),
					qs: []string{"Where do I turn on two-factor sign-in?", "Which menu enables verification codes?"}},
				{text: "When you switch it on you get **{V}** to keep somewhere safe.", v: num(4, 16, "%d recovery codes"),
					qs: []string{"How many recovery codes come with two-factor sign-in?", "How many spare codes do I get when I enable two-factor sign-in?"}},
			}},
			{headings: []string{"Reporting a problem", "Something looks wrong", "Fraud"}, facts: []fact{
				{text: "Email **{V}** if you see an order or sign-in you do not recognise.", v: email("security", "safety", "fraud", "trust"),
					qs: []string{"Which address do I write to about a sign-in I did not make?", "Where do I email to report suspicious activity?"}},
				{text: "The security team replies **{V}**.", v: num(2, 12, "within %d hours"),
					qs: []string{"How quickly does the security team answer?", "How long until someone replies to a fraud report?"}},
			}, filler: []string{"We cancel orders you did not place.", "We will never ask for your password by phone."}},
		},
	},
	{
		file:   "warranty.md",
		titles: []string{"Warranty", "Guarantee and repairs", "If something breaks"},
		intro:  []string{"Every {Shop} product is guaranteed against faults.", "Here is what the guarantee covers."},
		secs: []section{
			{headings: []string{"How long it lasts", "Cover periods", "What is covered"}, facts: []fact{
				{text: "The {P1} and the {P2} are guaranteed for **{V}**.", v: num(2, 5, "%d years"),
					qs: []string{"How long is the guarantee on the {P1}?", "For how many years is the {P2} covered?"}},
				{text: "Accessories such as the {P3} are covered for **{V}**.", v: num(3, 18, "%d months"),
					qs: []string{"How long is the {P3} under warranty?", "What warranty does the {P3} have?"}},
				{text: "A battery is replaced if it holds less than **{V}** in the first year.", v: num(60, 90, "%d%% of its first charge"),
					qs: []string{"When is a weak battery replaced under the guarantee?", "Below what capacity do you swap a battery?"}},
			}, filler: []string{"Drops and water damage are not covered.", "The guarantee runs from the delivery date."}},
			{headings: []string{"Making a claim", "Claims", "Repairs"}, facts: []fact{
				{text: "To claim you need the product's **{V}**.", v: pick("model number", "receipt code", "box label", "purchase code", "IMEI"),
					qs: []string{"What do I need to make a guarantee claim?", "Which detail of the product must I give when I claim?"}},
				{text: "We repair or replace it **{V}** of receiving it.", v: num(4, 20, "within %d working days"),
					qs: []string{"How long does a repair under guarantee take?", "How quickly is a faulty product fixed once you have it?"}},
			}},
			{headings: []string{"Broken on arrival", "Faulty from the start", "Damaged deliveries"}, facts: []fact{
				{text: "Tell us about a product that does not work out of the box **{V}**.", v: num(3, 21, "within %d days of delivery"),
					qs: []string{"How soon must I report something that arrived broken?", "What is the time limit for reporting a product that is dead on delivery?"}},
			}, filler: []string{"We send the new one first.", "Keep the packaging for the courier."}},
		},
	},
	{
		file:   "membership.md",
		titles: []string{"{Plan} membership", "About {Plan}", "{Plan}"},
		intro:  []string{"{Plan} is the {Shop} membership.", "Members get more from {Shop}."},
		secs: []section{
			{headings: []string{"Prices", "What it costs", "Plans"}, facts: []fact{
				{text: "{Plan} costs **{V}** a month.", v: money(3, 15, "%s"),
					qs: []string{"What is the monthly price of {Plan}?", "How much do I pay each month for {Plan}?"}},
				{text: "Paying yearly costs **{V}**.", v: money(30, 140, "%s"),
					qs: []string{"What does a year of {Plan} cost?", "How much is the annual {Plan} plan?"}},
				{text: "New members can try it free for **{V}**.", v: pick("7 days", "14 days", "21 days", "one month", "two weeks", "60 days", "45 days", "one week"),
					qs: []string{"How long is the free trial of {Plan}?", "For how long can I try {Plan} without paying?"}},
			}},
			{headings: []string{"Benefits", "What members get", "Perks"}, facts: []fact{
				{text: "Members save **{V}** on {Category}.", v: num(5, 30, "%d%%"),
					qs: []string{"What discount do members get on {Category}?", "How much cheaper are {Category} for members?"}},
				{text: "Members get **{V}** on every order.", v: pick("free next-day delivery", "free gift wrapping", "double reward points", "priority support"),
					qs: []string{"What extra do members get on each order?", "Which perk comes with every member order?"}},
			}, filler: []string{"Members also hear about sales first."}},
			{headings: []string{"Renewal and cancelling", "Cancelling", "Renewing"}, facts: []fact{
				{text: "We remind you **{V}** a yearly plan renews.", v: num(2, 21, "%d days before"),
					qs: []string{"How early do you warn me before the yearly plan renews?", "How many days ahead of renewal do you send a reminder?"}},
				{text: "Cancel **{V}** for a full refund of a yearly renewal.", v: num(5, 31, "within %d days of renewing"),
					qs: []string{"How long after the yearly plan renews can I cancel and get all my money back?", "Until when after renewal is a cancellation refunded in full?"}},
				{text: "Cancel under **{V}**.", v: menu("Cancel membership", "End plan", "Stop {Plan}"),
					qs: []string{"Where do I cancel {Plan}?", "Which menu ends my membership?"}},
			}},
		},
	},
	{
		file:   "payments-and-invoices.md",
		titles: []string{"Payments and invoices", "Paying and billing", "Billing"},
		intro:  []string{"How we take payment and where to find your paperwork."},
		secs: []section{
			{headings: []string{"When you pay", "Charges", "Payment"}, facts: []fact{
				{text: "Your card is charged **{V}**.", v: pick("when the order is packed", "on the day of dispatch", "when you place the order", "once the parcel is delivered"),
					qs: []string{"At what point do you take the money from my card?", "When is the payment taken?"}},
				{text: "A hold for a cancelled order disappears **{V}**.", v: num(2, 10, "within %d days"),
					qs: []string{"How long until the hold from a cancelled order goes away?", "When does the pending charge of a cancelled order vanish?"}},
			}, filler: []string{"We accept the major cards and PayPal."}},
			{headings: []string{"Invoices", "Receipts", "Your paperwork"}, facts: []fact{
				{text: "Download invoices under **{V}**.", v: menu("Invoices", "Receipts", "Download invoice"),
					qs: []string{"Where can I download an invoice?", "Which menu has my receipts?"}},
				{text: "Support can add company details to an invoice for up to **{V}**.", v: num(31, 180, "%d days after the order"),
					qs: []string{"How long after buying can I get my business name added to the invoice?", "Until when can support reissue an invoice with company details?"}},
				{text: "A refunded order gets a **{V}** linked to its invoice.", v: pick("refund statement", "credit memo", "cancellation invoice", "refund receipt"),
					qs: []string{"What paperwork do I get when an order is refunded?", "Which document is issued for a refund?"}},
			}},
		},
	},
	{
		file:   "closing-an-account.md",
		titles: []string{"Closing an account", "Deleting your account", "Leaving {Shop}"},
		intro:  []string{"We are sorry to see you go."},
		secs: []section{
			{headings: []string{"How to close it", "Asking us to close it", "Closing"}, facts: []fact{
				{text: "Write to **{V}** from the address on the account.", v: email("privacy", "data", "accounts", "dpo"),
					qs: []string{"Which address do I email to delete my account?", "Where do I write to have my account closed?"}},
				{text: "The account is closed **{V}** of your request.", v: num(5, 28, "within %d days"),
					qs: []string{"How long does it take you to delete my account?", "Once I ask, how soon is my account gone?"}},
			}, filler: []string{"A closed account cannot be opened again."}},
			{headings: []string{"Your data", "What we keep", "Records"}, facts: []fact{
				{text: "Order records are kept for **{V}** for tax reasons.", v: num(4, 12, "%d years"),
					qs: []string{"For how long do you keep my orders after I leave?", "How many years are purchase records stored after closing?"}},
				{text: "A copy of your data is ready **{V}**.", v: num(12, 96, "within %d hours"),
					qs: []string{"How soon can I download a copy of my data?", "How long does the data export take?"}},
			}},
		},
	},
	{
		file:   "product-guides.md",
		titles: []string{"Product guides", "Quick start guides", "Using your devices"},
		intro:  []string{"Short answers for the {Shop} range."},
		secs: []section{
			{headings: []string{"{P1}", "Setting up the {P1}"}, facts: []fact{
				{text: "The {P1} joins **{V}** networks only.", v: pick("5 GHz Wi-Fi", "6 GHz Wi-Fi", "Zigbee", "Thread", "wired Ethernet"),
					qs: []string{"What network does the {P1} need?", "Which kind of Wi-Fi works with the {P1}?"}},
				{text: "To reset the {P1}, hold its button for **{V}**.", v: num(3, 30, "%d seconds"),
					qs: []string{"How long do I press the button to reset the {P1}?", "How do I factory reset the {P1}?"}},
				{text: "Up to **{V}** can share one {P1}.", v: num(2, 12, "%d users"),
					qs: []string{"How many people can use a single {P1}?", "What is the most users one {P1} supports?"}},
			}},
			{headings: []string{"{P2}", "{P2} battery"}, facts: []fact{
				{text: "The {P2} runs for up to **{V}** on one charge.", v: num(11, 72, "%d hours"),
					qs: []string{"How long does the {P2} battery last?", "What is the battery life of the {P2}?"}},
				{text: "It charges fully in about **{V}**.", v: decimal(1, 6, "%s hours"),
					qs: []string{"How long does the {P2} take to charge?", "How much time does a full charge of the {P2} need?"}},
			}},
			{headings: []string{"{P3}", "{P3} care"}, facts: []fact{
				{text: "The {P3} is water resistant to **{V}**.", v: num(1, 100, "%d metres"),
					qs: []string{"How deep can I take the {P3} under water?", "To what depth is the {P3} waterproof?"}},
				{text: "It records to a memory card of up to **{V}**.", v: pick("32 GB", "64 GB", "128 GB", "512 GB", "1 TB"),
					qs: []string{"What is the biggest memory card the {P3} takes?", "How large a card can the {P3} use?"}},
			}, filler: []string{"Rinse it in fresh water after swimming."}},
		},
	},
	{
		file:   "gift-cards.md",
		titles: []string{"Gift cards", "Vouchers and gift cards"},
		intro:  []string{"{Shop} gift cards make an easy present."},
		secs: []section{
			{headings: []string{"Buying", "Values", "Gift card basics"}, facts: []fact{
				{text: "Gift cards come in values from **{V}**.", v: pick("$10 to $500", "$15 to $250", "$20 to $1,000", "$25 to $300", "$5 to $200"),
					qs: []string{"What amounts can a gift card be?", "What are the smallest and largest gift card values?"}},
				{text: "A gift card stays valid for **{V}**.", v: num(3, 7, "%d years from purchase"),
					qs: []string{"When does a gift card expire?", "How long can a gift card be used?"}},
				{text: "Check a balance under **{V}**.", v: menu("Gift card balance", "Balances", "Vouchers"),
					qs: []string{"Where do I see what is left on my gift card?", "Which menu shows the gift card balance?"}},
			}, filler: []string{"Gift cards cannot be exchanged for cash."}},
		},
	},
	{
		file:   "store-pickup.md",
		titles: []string{"Collect in store", "Store pickup", "Click and collect"},
		intro:  []string{"Order online and pick it up at a {Shop} store."},
		secs: []section{
			{headings: []string{"Collecting", "Picking up", "Pickup orders"}, facts: []fact{
				{text: "Pickup orders are ready **{V}**.", v: num(1, 8, "within %d hours"),
					qs: []string{"How soon can I collect an order from the store?", "When is a pickup order ready?"}},
				{text: "We hold your order for **{V}** before it goes back.", v: num(3, 14, "%d days"),
					qs: []string{"How long will the store keep my pickup order?", "For how many days is a collection order held?"}},
				{text: "Bring **{V}** to collect.", v: pick("photo ID", "the pickup QR code", "your order confirmation", "the card you paid with"),
					qs: []string{"What must I show to collect my order?", "What do I need to bring to the pickup desk?"}},
			}, filler: []string{"Someone else can collect with your code."}},
		},
	},
	{
		file:   "price-match-and-trade-in.md",
		titles: []string{"Price match and trade-in", "Fair prices", "Price promise"},
		intro:  []string{"{Shop} wants you to pay a fair price."},
		secs: []section{
			{headings: []string{"Price match", "Lower prices", "Our price promise"}, facts: []fact{
				{text: "We match a lower price from a big retailer for **{V}** after you buy.", v: num(5, 45, "%d days"),
					qs: []string{"How long after buying do you match a cheaper price?", "Until when can I ask for a price match?"}},
			}, filler: []string{"Marketplace sellers do not count."}},
			{headings: []string{"Trade-in", "Trading in a device", "Old devices"}, facts: []fact{
				{text: "Trade-in credit arrives **{V}** after we check the device.", v: num(2, 9, "within %d business days"),
					qs: []string{"How quickly is trade-in credit paid?", "When do I get my trade-in money?"}},
				{text: "We take devices **{V}**.", v: num(4, 8, "up to %d years old"),
					qs: []string{"How old can a trade-in device be?", "What is the age limit for trading in a device?"}},
			}},
		},
	},
	{
		file:   "contact-us.md",
		titles: []string{"Contact us", "Getting help", "Support"},
		intro:  []string{"The {Shop} support team is here to help."},
		secs: []section{
			{headings: []string{"Chat and phone", "Opening hours", "Talk to us"}, facts: []fact{
				{text: "Chat is open **{V}**, Monday to Saturday.", v: hours(),
					qs: []string{"When is live chat open?", "What are the chat support hours?"}},
				{text: "Call us on **{V}**.", v: phone(),
					qs: []string{"What is the support phone number?", "Which number do I ring for help?"}},
			}},
			{headings: []string{"Email", "Writing to us"}, facts: []fact{
				{text: "Write to **{V}** for anything else.", v: email("help", "support", "hello", "care"),
					qs: []string{"What is the general support email?", "Which address do I email for help?"}},
				{text: "We answer emails **{V}**.", v: num(6, 72, "within %d hours"),
					qs: []string{"How quickly do you reply to emails?", "How long does an email answer take?"}},
			}, filler: []string{"Please include your order number."}},
		},
	},
}
