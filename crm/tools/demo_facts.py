"""The demo catalogue's product pages: the facts the agent answers product questions from.

One entry per SKU of crm/tools/demo.py, aspect by aspect (the aspects are
:data:`crm.records.catalogue.ASPECTS`). Each fact is one sentence as a product page would put
it; an aspect left out is one the shop does not state, and the agent says so rather than guess.
``suits`` (what the product is good for) also feeds the recommendations' description
similarity, so "kitchen stuff" or "going camping" finds the right shelf. Guarantees follow the
help centre (data/knowledge/products-warranty.md): two years, five for Larkspur cookware.
"""

from __future__ import annotations

from typing import Final

# Larkspur-brand cookware has five years; everything else the standard two.
GUARANTEE_YEARS: Final = {"KIT-001": 5}
STANDARD_GUARANTEE_YEARS: Final = 2

PRODUCT_FACTS: Final[dict[str, dict[str, str]]] = {
    "KIT-001": {
        "material": "Cast iron with a glossy enamel coating inside and out, and a tight-fitting lid.",
        "care": "Wash by hand in warm soapy water and dry straight away; soak stubborn food rather than scouring the enamel.",
        "dishwasher": "Not dishwasher safe: wash it by hand, as dishwasher detergent dulls the enamel.",
        "hob": "Works on every hob, including induction, gas, electric and ceramic.",
        "oven": "Oven safe to 250°C, lid included.",
        "size": "24 cm across, holds 3.8 litres (serves 4 to 6), weighs 4.6 kg.",
        "suits": "Slow cooking, stews and bread baking; a cook's housewarming or wedding gift.",
    },
    "KIT-002": {
        "material": "Forged German stainless steel blade (58 HRC) with an oiled oak handle.",
        "care": "Wash by hand, dry at once and store in a block or on a magnetic rack; hone it regularly.",
        "dishwasher": "Not dishwasher safe: the dishwasher blunts the edge and dries out the oak handle.",
        "size": "20 cm blade, 33 cm overall, 210 g.",
        "suits": "Everyday chopping, slicing and dicing; a gift for a keen cook.",
    },
    "KIT-003": {
        "material": "FSC-certified bamboo, reversible, with a juice groove on one side.",
        "care": "Wash by hand with warm soapy water, dry upright, and oil it about once a month with board oil.",
        "dishwasher": "Not dishwasher safe: wash it by hand, as the dishwasher warps and cracks bamboo.",
        "size": "40 × 28 × 2 cm.",
        "suits": "Chopping, carving and serving; a small kitchen or housewarming gift.",
    },
    "KIT-004": {
        "material": "Glazed stoneware.",
        "care": "Easy to clean; avoid sudden changes of temperature, such as cold water on a hot bowl.",
        "dishwasher": "Dishwasher safe.",
        "oven": "Microwave safe and oven safe to 200°C.",
        "size": "Three nesting bowls, 16, 20 and 24 cm across.",
        "included": "Three bowls.",
        "suits": "Baking and mixing; a baker's or housewarming gift.",
    },
    "KIT-005": {
        "material": "Enamelled carbon steel body with a stainless steel base and a phenolic handle.",
        "care": "Wipe the outside with a soft cloth; descale with equal parts water and white vinegar in hard-water areas.",
        "dishwasher": "Not dishwasher safe: rinse it out and wipe it by hand.",
        "hob": "Works on every hob, including induction, gas, electric and ceramic.",
        "size": "1.5 litres, 22 cm across the base, 1.1 kg.",
        "included": "Kettle with a whistling spout cap.",
        "suits": "Tea and coffee on the stove; a kitchen or housewarming gift.",
    },
    "KIT-006": {
        "material": "100% stonewashed European linen.",
        "care": "Machine washable at 40°C; tumble dry low. They get softer with every wash.",
        "size": "Each towel 50 × 70 cm.",
        "included": "Three tea towels.",
        "suits": "Drying dishes and glasses; a small kitchen gift.",
    },
    "KIT-007": {
        "material": "Copper-plated stainless steel with engraved measures.",
        "care": "Wash by hand and dry at once to keep the shine.",
        "dishwasher": "Not dishwasher safe: wash them by hand, as the dishwasher tarnishes the copper.",
        "size": "¼, ⅓, ½ and 1 cup (60 to 240 ml), nesting on a ring.",
        "included": "Four cups on a ring.",
        "suits": "Baking by American recipes; a baker's gift.",
    },
    "KIT-008": {
        "material": "Borosilicate glass jars with beech lids and silicone seals.",
        "care": "Wash the lids by hand and do not soak them.",
        "dishwasher": "The glass jars are dishwasher safe; wash the beech lids by hand.",
        "size": "Each jar 1 litre, 10 cm across and 17 cm tall.",
        "included": "Four jars with lids.",
        "suits": "Keeping pasta, rice, flour and coffee fresh in the kitchen or pantry.",
    },
    "KIT-009": {
        "material": "Assam and Ceylon black tea, loose leaf, in a resealable tin.",
        "size": "250 g, about 100 cups.",
        "suits": "A warming cup of tea; a comforting small gift.",
    },
    "HOM-001": {
        "material": "100% lambswool, woven in Wales.",
        "care": "Dry clean, or hand wash cold with a wool detergent and dry flat; do not tumble dry.",
        "size": "130 × 180 cm, big enough for a sofa or the foot of a double bed.",
        "suits": "Keeping warm on cold evenings; a cosy gift for someone who feels the cold.",
    },
    "HOM-002": {
        "material": "100% linen with a hidden zip.",
        "care": "Machine washable at 30°C, inside out; iron while damp.",
        "size": "45 × 45 cm.",
        "included": "The cover only: the cushion pad is not included.",
        "suits": "Refreshing a sofa, chair or bed.",
    },
    "HOM-003": {
        "material": "Glazed ceramic base with a linen drum shade.",
        "care": "Dust with a dry cloth; switch off before cleaning.",
        "size": "52 cm tall, shade 35 cm across, 1.8 m cable with an inline switch.",
        "included": "Lamp and shade; the E27 bulb (up to 40 W, or an LED equivalent) is not included.",
        "outdoor": "For indoor use only.",
        "suits": "A living room or bedroom, a housewarming gift.",
    },
    "HOM-004": {
        "material": "Solid FSC-certified oak with a glass front and a white mount.",
        "care": "Dust with a dry cloth; clean the glass with a little glass cleaner on the cloth, not on the frame.",
        "size": "Takes an A4 picture, or A5 with the mount; 35 × 26 cm overall.",
        "included": "Frame, glass, mount, and fittings for hanging or standing.",
        "suits": "Photos and prints; a personal gift.",
    },
    "HOM-005": {
        "material": "Soy wax with a cotton wick in a glass jar, scented with fig and cedar.",
        "care": "Trim the wick to 5 mm before lighting and burn for no more than four hours at a time.",
        "size": "200 g, around 40 hours of burn time.",
        "suits": "A relaxing evening; a small gift or a treat.",
    },
    "HOM-006": {
        "material": "Natural jute with a non-slip PVC back.",
        "care": "Shake or vacuum it; spot clean with a damp cloth.",
        "size": "45 × 75 cm.",
        "outdoor": "Best under cover, in a porch or inside the door: jute should not be left out in the rain.",
        "suits": "A front door or porch.",
    },
    "HOM-007": {
        "material": "600 gsm organic cotton terry.",
        "care": "Machine washable at 60°C; tumble dry low. Wash before first use.",
        "size": "70 × 130 cm.",
        "suits": "The bathroom; a soft everyday luxury.",
    },
    "HOM-008": {
        "material": "Birch plywood face in a powder-coated steel case.",
        "care": "Dust with a dry cloth.",
        "size": "30 cm face, 4 cm deep.",
        "included": "The clock; it runs on one AA battery, not included.",
        "suits": "A kitchen, living room or office; quiet enough for a bedroom.",
    },
    "GAR-001": {
        "material": "Rust-proof stainless steel blade with an ash handle.",
        "care": "Rinse off soil and dry it; oil the handle now and then.",
        "size": "32 cm long.",
        "outdoor": "Made for outdoor use: the blade will not rust.",
        "suits": "Planting in beds, pots and window boxes; small gardens and balconies.",
    },
    "GAR-002": {
        "material": "Frost-resistant terracotta with a drainage hole.",
        "care": "Empty and clean it with a stiff brush at the end of the season.",
        "size": "30 cm across and 27 cm tall, holds about 12 litres of compost.",
        "outdoor": "Frost resistant: it can stay outside all year.",
        "suits": "Herbs, flowers and small shrubs on a patio, balcony or windowsill.",
    },
    "GAR-003": {
        "material": "Hot-dipped galvanised steel with a removable brass rose.",
        "care": "Empty it after use and store it upside down.",
        "size": "7 litres, 50 cm long.",
        "outdoor": "Weatherproof: galvanised to stand outdoors.",
        "suits": "Watering beds, borders and larger pots in a garden.",
    },
    "GAR-004": {
        "material": "Hardened carbon steel bypass blades with aluminium handles and a locking catch.",
        "care": "Wipe the blades clean after use and oil the pivot now and then.",
        "size": "20 cm long; cuts stems up to 20 mm.",
        "suits": "Pruning roses, shrubs and small branches; a keen gardener's gift.",
    },
    "GAR-005": {
        "material": "Untreated FSC-certified larch, which weathers to silver-grey.",
        "care": "Can be treated with a plant-safe wood oil every year to last longer.",
        "size": "120 × 60 × 30 cm, about 200 litres of soil; needs a garden or allotment with room for it.",
        "outdoor": "Made for outdoors, all year.",
        "included": "Panels, corner posts and screws; assembly takes about 30 minutes.",
        "suits": "Growing vegetables in a garden or allotment.",
    },
    "GAR-006": {
        "material": "Powder-coated steel with a polycarbonate seed tube.",
        "care": "Clean it every two weeks with warm soapy water and let it dry before refilling.",
        "size": "35 cm tall, holds 0.8 kg of seed.",
        "outdoor": "Weatherproof, for hanging outdoors all year.",
        "suits": "Bringing birds to a garden, tree or balcony rail.",
    },
    "GAR-007": {
        "material": "Waterproof closed-cell foam.",
        "care": "Wipe it clean with a damp cloth.",
        "size": "45 × 28 × 4 cm.",
        "outdoor": "Waterproof.",
        "suits": "Kneeling to weed and plant; kind to knees; a gardener's gift.",
    },
    "OUT-001": {
        "material": "Powder-coated steel table and two folding chairs.",
        "care": "Wipe with a damp cloth; fold and store it under cover over winter.",
        "size": "Table 60 cm across and 72 cm tall; chairs fold flat to 8 cm.",
        "outdoor": "Weather resistant, but best stored under cover over winter.",
        "included": "Table and two chairs, delivered assembled.",
        "suits": "A small patio or balcony; coffee for two outdoors.",
    },
    "OUT-002": {
        "material": "Recycled plastic and metal with a solar panel in the lid and a warm white LED.",
        "care": "Wipe the solar panel clean now and then so it charges well.",
        "size": "28 cm tall with its handle, 13 cm across.",
        "outdoor": "Weatherproof (IP44): fine outside in the rain, but not to be submerged.",
        "included": "The lantern with a rechargeable battery fitted; it charges in daylight and lights for up to 8 hours.",
        "suits": "Camping, gardens and balconies; light without a plug.",
    },
    "OUT-003": {
        "material": "Soft recycled-polyester fleece top with a waterproof backing.",
        "care": "Machine washable at 30°C; do not tumble dry.",
        "size": "150 × 130 cm, folds to a carry strap.",
        "outdoor": "Waterproof backing, for damp grass and beaches.",
        "suits": "Picnics, the beach, festivals and camping.",
    },
    "OUT-004": {
        "material": "Speckled enamel on steel.",
        "care": "Wash by hand to keep the enamel from chipping.",
        "dishwasher": "Dishwasher safe, though washing by hand keeps the enamel looking new for longer.",
        "hob": "Can go on a camping stove or the edge of a campfire; not for the microwave.",
        "size": "350 ml.",
        "suits": "Camping, hiking and campfire drinks.",
    },
    "OUT-005": {
        "material": "Steel bowl with a mesh spark guard.",
        "care": "Let it cool and empty the ash after each use; cover it when not in use.",
        "size": "60 cm across and 35 cm tall on its legs.",
        "outdoor": "For outdoor use only; the steel weathers to a rust patina.",
        "included": "Bowl, legs, mesh guard and a poker.",
        "suits": "Warm evenings in the garden.",
    },
    "OUT-006": {
        "material": "Cotton rope with hardwood spreader bars.",
        "care": "Bring it inside when wet weather is forecast; hand wash if needed.",
        "size": "200 × 100 cm bed; holds up to 150 kg.",
        "outdoor": "For dry weather: store it indoors when not in use.",
        "included": "Hammock and two hanging ropes; no stand.",
        "suits": "Gardens, camping and lazy summer days.",
    },
    "OUT-007": {
        "material": "Double-walled, vacuum-insulated stainless steel.",
        "care": "Wash by hand with warm soapy water.",
        "dishwasher": "Not dishwasher safe: wash it by hand to keep the vacuum seal working.",
        "size": "750 ml; keeps drinks hot for 12 hours or cold for 24.",
        "outdoor": "Leak-proof and made for the outdoors.",
        "suits": "Camping, walks and cold days out; hot drinks for someone who feels the cold.",
    },
    "GAR-008": {
        "material": "Sunflower hearts, kibbled maize, millet and peanut granules.",
        "size": "2 kg.",
        "suits": "Filling hanging bird feeders in a garden or on a balcony.",
    },
}
