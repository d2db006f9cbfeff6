package reading

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// gen draws one value of a fact. Values may name the shop's entities
// ({Domain}, {P1}, ...), which are filled in with the rest of the page.
type gen func(r *rand.Rand) string

// num draws a whole number in [lo, hi] into format (one %d).
func num(lo, hi int, format string) gen {
	return func(r *rand.Rand) string { return fmt.Sprintf(format, lo+r.IntN(hi-lo+1)) }
}

// span draws a range "a-b" with a < b, both in [lo, hi], into format (one %s).
func span(lo, hi int, format string) gen {
	return func(r *rand.Rand) string {
		a := lo + r.IntN(hi-lo)
		b := a + 1 + r.IntN(hi-a)
		return fmt.Sprintf(format, fmt.Sprintf("%d-%d", a, b))
	}
}

// money draws a price in dollars in [lo, hi], sometimes whole, sometimes
// with the cents shops like, into format (one %s).
func money(lo, hi int, format string) gen {
	cents := []string{"", "", ".49", ".95", ".99", ".50", ".25", ".75"}
	return func(r *rand.Rand) string {
		return fmt.Sprintf(format, fmt.Sprintf("$%d%s", lo+r.IntN(hi-lo+1), cents[r.IntN(len(cents))]))
	}
}

// decimal draws a number with one decimal in [lo, hi) into format (one %s).
func decimal(lo, hi int, format string) gen {
	return func(r *rand.Rand) string {
		return fmt.Sprintf(format, fmt.Sprintf("%d.%d", lo+r.IntN(hi-lo), 1+r.IntN(9)))
	}
}

// pick draws one of the options.
func pick(options ...string) gen {
	return func(r *rand.Rand) string { return options[r.IntN(len(options))] }
}

// clock draws a time of day, "3 pm Mountain time", into format (one %s).
func clock(format string) gen {
	zones := []string{"Eastern", "Central", "Mountain", "Atlantic", "Alaska", "Hawaii", "UK", "Central European"}
	return func(r *rand.Rand) string {
		h := 1 + r.IntN(11)
		half := "am"
		if r.IntN(3) > 0 {
			half = "pm"
		}
		t := fmt.Sprintf("%d %s", h, half)
		if r.IntN(4) == 0 {
			t = fmt.Sprintf("%d:30 %s", h, half)
		}
		return fmt.Sprintf(format, t+" "+zones[r.IntN(len(zones))]+" time")
	}
}

// hours draws opening hours, "8 am to 7 pm".
func hours() gen {
	return func(r *rand.Rand) string {
		return fmt.Sprintf("%d am to %d pm", 6+r.IntN(4), 4+r.IntN(7))
	}
}

// menu draws a menu path, "My profile > Purchases > Send back", whose last
// step names what it does.
func menu(last ...string) gen {
	roots := []string{"My profile", "Profile", "Your account", "Settings", "Me", "Dashboard", "My space", "Home"}
	mids := []string{"Purchases", "Order history", "Privacy", "Safety", "Billing", "Wallet", "Preferences", "Subscriptions",
		"Sign-in", "Devices", "Help", "Documents", "Payments", "Personal data"}
	return func(r *rand.Rand) string {
		parts := []string{roots[r.IntN(len(roots))]}
		if r.IntN(4) > 0 {
			parts = append(parts, mids[r.IntN(len(mids))])
		}
		parts = append(parts, last[r.IntN(len(last))])
		return strings.Join(parts, " > ")
	}
}

// email draws an address at the shop's domain.
func email(locals ...string) gen {
	return func(r *rand.Rand) string { return locals[r.IntN(len(locals))] + "@{Domain}" }
}

// phone draws a toll-free number.
func phone() gen {
	return func(r *rand.Rand) string {
		return fmt.Sprintf("1-8%02d-%03d-%04d", r.IntN(100), r.IntN(1000), r.IntN(10000))
	}
}

// Names the shops are made of. None is a name from the example lab.
var (
	shopFirst = []string{"Harbor", "Maple", "Copperfield", "Bluestone", "Kestrel", "Juniper", "Alder", "Brightwater",
		"Cobalt", "Fernhill", "Granite", "Hollow Oak", "Larkspur", "Meridian", "Oakridge", "Pinecrest", "Quarry",
		"Redwing", "Saltmarsh", "Thistle", "Umber", "Westwind", "Yarrow", "Zephyr", "Ashgrove", "Birchwood",
		"Cinder", "Driftwood", "Evergreen", "Foxglove", "Goldcrest", "Heron", "Ironbark", "Lantern", "Mistral",
		"Nettle", "Orchard", "Pebble", "Riverbend", "Summit", "Tidewater", "Valley", "Willow", "Amber"}
	shopSecond = []string{"Electronics", "Gadgets", "Tech", "Supply", "Devices", "Digital", "Outfitters", "Home Tech",
		"Audio", "Labs", "Goods", "Electric", "Works", "Store", "Trading"}
	prodFirst = []string{"Aero", "Vela", "Quill", "Brio", "Cirrus", "Dash", "Echo", "Flint", "Halo", "Iris", "Jolt",
		"Kite", "Lyra", "Mosaic", "Nova", "Opal", "Prism", "Ripple", "Sable", "Terra", "Umbra", "Vivid", "Wren",
		"Zest", "Atlas", "Beacon", "Comet", "Drift", "Ember", "Fable", "Grove", "Helix", "Ion", "Lumo", "Pico"}
	prodKind = []string{"speaker", "camera", "watch", "band", "lamp", "hub", "tablet", "earbuds", "headphones",
		"thermostat", "doorbell", "charger", "router", "scale", "projector", "tracker", "mouse", "monitor", "drone",
		"kettle", "fan", "purifier", "plug", "sensor"}
	prodSuffix = []string{"", "", "", " Neo", " Max", " 2", " Pro", " Air", " Go", " Plus", " 3", " Lite", " One"}
	carriers   = []string{"Swiftline", "ParcelPost Express", "Northstar Freight", "BlueArrow", "Courierly", "RapidRoute",
		"Waypoint Logistics", "Packet & Co", "Greenline Couriers", "Trackmile"}
	cities = []string{"Tulsa", "Boise", "Dayton", "Fresno", "Spokane", "Omaha", "Akron", "Macon", "Billings", "Laredo",
		"Toledo", "Wichita", "Eugene", "Duluth", "Peoria", "Albany", "Provo", "Yakima", "Salem", "Lansing"}
	planSuffix = []string{"Club", "Prime", "Select", "Pass", "Circle", "Premium", "Rewards", "Insider", "Gold", "Max"}
	categories = []string{"cables", "cases", "chargers", "headphones", "smart home devices", "refurbished items",
		"audio gear", "cameras", "gift cards"}
)
