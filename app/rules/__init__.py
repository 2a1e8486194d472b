"""Pure domain rules of MédecinePrev: plain typed functions over plain values."""
