// Unit tests: the native JSON engine (exact numbers, paths, reducer and
// upcaster operations, spec validation).
#include <gtest/gtest.h>

#include "error.hpp"
#include "json_program.hpp"
#include "jvalue.hpp"

using namespace casebook::eventstore;

namespace {

JValue obj(std::initializer_list<std::pair<const char*, JValue>> members) {
    JValue o = JValue::object();
    for (auto& [k, v] : members) o.put(k, v);
    return o;
}
JValue str(const char* s) { return JValue::string(s); }
JValue arr(std::initializer_list<JValue> items) {
    JValue a = JValue::array();
    for (auto& i : items) a.items().push_back(i);
    return a;
}

}  // namespace

TEST(Numbers, ExactDecimalAddition) {
    EXPECT_EQ(add_numbers(JValue::number("19.99"), JValue::number("0.01")).text(), "20.00");
    EXPECT_EQ(add_numbers(JValue::number("0.1"), JValue::number("0.2")).text(), "0.3");
    EXPECT_EQ(add_numbers(JValue::number("-5"), JValue::number("2.50")).text(), "-2.50");
    EXPECT_EQ(add_numbers(JValue::number("-0.5"), JValue::number("0.5")).text(), "0.0");
    EXPECT_EQ(add_numbers(JValue::integer(9223372036854775807LL), JValue::integer(1)).text(),
              "9223372036854775808");  // past int64: decimal text arithmetic
    EXPECT_EQ(add_numbers(JValue::number("123456789012345678901234567890.5"), JValue::number("0.5")).text(),
              "123456789012345678901234567891.0");
    EXPECT_EQ(add_numbers(JValue::number("-123456789012345678901"), JValue::number("123456789012345678900")).text(),
              "-1");
}

// The in-place sum a reducer's increment uses agrees with add_numbers, keeps
// the wider scale, and declines (changing nothing) where 64 bits overflow or
// a value only exists as text.
TEST(Numbers, InPlaceAdditionMatchesAddNumbers) {
    const char* cases[][2] = {{"19.99", "0.01"}, {"0.1", "0.2"}, {"-5", "2.50"}, {"-0.5", "0.5"},
                              {"1.000", "2"},    {"7", "-7.25"}, {"0", "0.00000001"}};
    for (auto& c : cases) {
        JValue a = JValue::number(c[0]);
        ASSERT_EQ(a.text(), c[0]);  // the text cache is filled before the sum
        EXPECT_TRUE(a.add_fixed_in_place(JValue::number(c[1]))) << c[0] << " + " << c[1];
        EXPECT_EQ(a.text(), add_numbers(JValue::number(c[0]), JValue::number(c[1])).text()) << c[0] << " + " << c[1];
    }
    JValue big = JValue::integer(9223372036854775807LL);
    EXPECT_FALSE(big.add_fixed_in_place(JValue::integer(1)));
    EXPECT_EQ(big.text(), "9223372036854775807");
    JValue scaled = JValue::integer(922337203685477580LL);
    EXPECT_FALSE(scaled.add_fixed_in_place(JValue::number("0.01")));  // 10^2 alignment overflows
    EXPECT_EQ(scaled.text(), "922337203685477580");
    JValue wide = JValue::number("123456789012345678901234567890");
    EXPECT_FALSE(wide.add_fixed_in_place(JValue::integer(1)));
    JValue one = JValue::integer(1);
    EXPECT_FALSE(one.add_fixed_in_place(wide));
    EXPECT_EQ(one.text(), "1");
    JValue s = JValue::string("x");
    EXPECT_FALSE(s.add_fixed_in_place(JValue::integer(1)));
}

TEST(Numbers, EqualityIgnoresTrailingZeros) {
    EXPECT_TRUE(JValue::number("1.50") == JValue::number("1.5"));
    EXPECT_FALSE(JValue::number("1.51") == JValue::number("1.5"));
    EXPECT_TRUE(JValue::integer(7) == JValue::number("7.000"));
}

TEST(Paths, SetGetRemove) {
    JValue doc = JValue::object();
    set_path(doc, parse_path("money.amount"), JValue::integer(1999));
    ASSERT_NE(get_path(doc, parse_path("money.amount")), nullptr);
    EXPECT_EQ(get_path(doc, parse_path("money.amount"))->text(), "1999");
    EXPECT_EQ(get_path(doc, parse_path("money.currency")), nullptr);
    EXPECT_TRUE(remove_path(doc, parse_path("money.amount")));
    EXPECT_FALSE(remove_path(doc, parse_path("money.amount")));
    set_path(doc, parse_path("money.amount.x"), JValue::integer(1));  // a scalar on the way becomes an object
    EXPECT_NE(get_path(doc, parse_path("money.amount.x")), nullptr);
}

TEST(Reducer, TheCaseStudyOrder) {
    JValue spec = obj({
        {"OrderCreated", arr({obj({{"set", str("customer_id")}, {"from", str("customer_id")}}),
                              obj({{"set", str("status")}, {"value", str("draft")}})})},
        {"ItemAdded", arr({obj({{"append", str("items")}, {"from", str("$data")}}),
                           obj({{"increment", str("total")}, {"from", str("price")}})})},
        {"ItemRemoved", arr({obj({{"remove", str("items")}, {"where", obj({{"sku", str("sku")}})}})})},
        {"OrderSubmitted", arr({obj({{"set", str("status")}, {"value", str("submitted")}})})},
        {"*", arr({obj({{"set", str("version")}, {"from", str("$version")}})})},
    });
    Reducer r = Reducer::parse(spec);
    JValue state = JValue::object();
    auto fold = [&](const char* type, JValue data, int64_t version) {
        EventView ev{type, &data, nullptr, version, version, "order-1", ""};
        r.apply(state, ev);
    };
    fold("OrderCreated", obj({{"customer_id", JValue::integer(456)}}), 1);
    fold("ItemAdded", obj({{"sku", str("A")}, {"price", JValue::number("19.99")}}), 2);
    fold("ItemAdded", obj({{"sku", str("B")}, {"price", JValue::number("0.01")}}), 3);
    fold("ItemRemoved", obj({{"sku", str("A")}}), 4);
    fold("Unrelated", JValue::object(), 5);  // only "*" applies
    fold("OrderSubmitted", JValue::object(), 6);
    EXPECT_EQ(get_path(state, {"customer_id"})->text(), "456");
    EXPECT_EQ(get_path(state, {"total"})->text(), "20.00");
    EXPECT_EQ(get_path(state, {"status"})->text(), "submitted");
    EXPECT_EQ(get_path(state, {"version"})->text(), "6");
    ASSERT_EQ(get_path(state, {"items"})->items().size(), 1u);
    EXPECT_EQ(get_path(state, {"items"})->items()[0].find("sku")->text(), "B");
}

TEST(Reducer, IncrementOfANonNumberFailsWithKB211) {
    Reducer r = Reducer::parse(obj({{"T", arr({obj({{"increment", str("n")}, {"from", str("x")}})})}}));
    JValue state = JValue::object();
    JValue data = obj({{"x", str("12")}});
    EventView ev{"T", &data, nullptr, 1, 1, "s-1", ""};
    try {
        r.apply(state, ev);
        FAIL() << "expected an error";
    } catch (const casebook::Error& e) {
        EXPECT_EQ(e.state().str(), "KB211");
    }
}

TEST(Reducer, MalformedSpecsFailWithKB210) {
    auto fails = [](JValue spec) {
        try {
            (void)Reducer::parse(spec);
        } catch (const casebook::Error& e) {
            return e.state().str() == "KB210";
        }
        return false;
    };
    EXPECT_TRUE(fails(JValue::array()));
    EXPECT_TRUE(fails(JValue::object()));
    EXPECT_TRUE(fails(obj({{"T", str("x")}})));
    EXPECT_TRUE(fails(obj({{"T", arr({obj({{"set", str("a")}, {"append", str("b")}, {"value", JValue::integer(1)}})})}})));
    EXPECT_TRUE(fails(obj({{"T", arr({obj({{"set", str("a")}, {"value", JValue::integer(1)}, {"bogus", JValue()}})})}})));
    EXPECT_TRUE(fails(obj({{"T", arr({obj({{"set", str("a")}})})}})));  // no value or from
    EXPECT_TRUE(fails(obj({{"T", arr({obj({{"set", str("a..b")}, {"value", JValue()}})})}})));
    EXPECT_TRUE(fails(obj({{"T", arr({obj({{"move", str("a")}, {"to", str("b")}})})}})));  // upcaster-only
    EXPECT_TRUE(fails(obj({{"T", arr({obj({{"increment", str("a")}, {"by", str("1")}})})}})));
    EXPECT_TRUE(fails(obj({{"T", arr({obj({{"set", str("a")}, {"from", str("$nope")}})})}})));
}

TEST(Upcaster, PriceInCentsBecomesAMoneyObject) {
    auto ops = parse_operations(arr({obj({{"move", str("price")}, {"to", str("money.amount")}}),
                                     obj({{"default", str("money.currency")}, {"value", str("USD")}})}),
                                "upcaster", true);
    JValue data = obj({{"price", JValue::integer(1999)}, {"sku", str("A")}});
    EventView ev{"OrderCreated", &data, nullptr, 1, 1, "order-1", ""};
    run_operations(ops, data, ev, true);
    EXPECT_EQ(get_path(data, {"price"}), nullptr);
    EXPECT_EQ(get_path(data, parse_path("money.amount"))->text(), "1999");
    EXPECT_EQ(get_path(data, parse_path("money.currency"))->text(), "USD");
    EXPECT_EQ(get_path(data, {"sku"})->text(), "A");
}

TEST(Upcaster, RefusesFoldingOperations) {
    EXPECT_THROW(parse_operations(arr({obj({{"increment", str("a")}, {"by", JValue::integer(1)}})}), "u", true),
                 casebook::Error);
}
