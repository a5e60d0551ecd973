// Package rules turns a registration's signals into a score: a weight per
// signal kind from a rules file, a score from 0 to 100, a band (allow,
// review, deny) by thresholds, the reasons, and the id of the rule set that
// produced it, stored with every score so that an analyst can tell which
// rules were in force.
//
// Scoring is a pure function of the signal set: the same signals give the
// same score, byte for byte, whatever order they were found in.
//
// Combination: weights are probabilities in percent and combine as a noisy
// OR, score = 100 * (1 - prod(1 - w/100)). Two independent weak reasons add
// up to more than either, but nothing ever exceeds 100, and a single strong
// reason is not diluted by many weak ones (which a mean would do).
package rules
