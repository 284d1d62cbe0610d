#include "whole_combo_box.h"

#include <QEvent>
#include <QStyleOptionComboBox>
#include <QStylePainter>

#include <algorithm>

namespace gpulab {

WholeComboBox::WholeComboBox(bool elided, QWidget* parent) : QComboBox(parent), m_elided(elided) {}

QSize WholeComboBox::minimumSizeHint() const
{
    if (!m_elided)
        return QComboBox::minimumSizeHint();
    return {sizeFor(16 * fontMetrics().averageCharWidth()), QComboBox::minimumSizeHint().height()};
}

void WholeComboBox::changeEvent(QEvent* e)
{
    QComboBox::changeEvent(e);
    if (e->type() == QEvent::FontChange || e->type() == QEvent::StyleChange)
        fit();
}

void WholeComboBox::showEvent(QShowEvent* e)
{
    fit();
    QComboBox::showEvent(e);
}

void WholeComboBox::paintEvent(QPaintEvent* e)
{
    if (!m_elided || isEditable()) {
        QComboBox::paintEvent(e);
        return;
    }
    QStylePainter p(this);
    QStyleOptionComboBox opt;
    initStyleOption(&opt);
    p.drawComplexControl(QStyle::CC_ComboBox, opt);
    const QRect text = style()->subControlRect(QStyle::CC_ComboBox, &opt, QStyle::SC_ComboBoxEditField, this);
    opt.currentText = fontMetrics().elidedText(opt.currentText, Qt::ElideRight, text.width());
    p.drawControl(QStyle::CE_ComboBoxLabel, opt);
}

int WholeComboBox::sizeFor(int textWidth) const
{
    QStyleOptionComboBox opt;
    initStyleOption(&opt);
    return style()->sizeFromContents(QStyle::CT_ComboBox, &opt, QSize(textWidth, fontMetrics().height()), this).width();
}

void WholeComboBox::fit()
{
    if (m_elided)
        return updateGeometry();
    int widest = 0;
    for (int i = 0; i < count(); ++i)
        widest = std::max(widest, fontMetrics().horizontalAdvance(itemText(i)));
    setMinimumWidth(sizeFor(widest));
}

} // namespace gpulab
